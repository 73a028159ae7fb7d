export const IDENTITY_CORE = Symbol('IDENTITY_CORE');
