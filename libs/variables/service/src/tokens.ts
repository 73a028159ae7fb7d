/** Injection tokens of the variables service's ports. */
export const EVENT_STORE = Symbol('EVENT_STORE');
export const SQL = Symbol('SQL');
export const VARIABLES_READ_MODEL = Symbol('VARIABLES_READ_MODEL');
export const VISITOR_READ_MODEL = Symbol('VISITOR_READ_MODEL');
export const VARIABLES_OPTIONS = Symbol('VARIABLES_OPTIONS');
/** Identity's signature check (SignatureVerifier), for signed visitor submits. */
export const SIGNATURE_VERIFIER = Symbol('SIGNATURE_VERIFIER');
