/** Injection tokens of the variables service's ports. */
export const EVENT_STORE = Symbol('EVENT_STORE');
export const SQL = Symbol('SQL');
export const VARIABLES_READ_MODEL = Symbol('VARIABLES_READ_MODEL');
export const VISITOR_READ_MODEL = Symbol('VISITOR_READ_MODEL');
export const ERASURES_READ_MODEL = Symbol('ERASURES_READ_MODEL');
/** The one StreamWriter every command of the service goes through. */
export const STREAM_WRITER = Symbol('STREAM_WRITER');
/** The orgs' limits and retention (VariableSettingsReader). */
export const SETTINGS = Symbol('SETTINGS');
/** The signing keys known to be revoked (RevokedKeys). */
export const REVOKED_KEYS = Symbol('REVOKED_KEYS');
/** The orgs' brands (BrandDirectory), for the SalesIQ portals. */
export const BRANDS = Symbol('BRANDS');
/** Identity's signature check (SignatureVerifier), for signed visitor submits. */
export const SIGNATURE_VERIFIER = Symbol('SIGNATURE_VERIFIER');
