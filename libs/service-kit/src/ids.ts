import { randomBytes } from 'node:crypto';

/** A random id with a readable prefix (`org_…`, `ses_…`): 96 random bits, letters and digits only (an opaque id). */
export const randomId = (prefix: string): string => `${prefix}_${randomBytes(12).toString('base64url').replace(/[^A-Za-z0-9]/g, 'x')}`;
