export * from './org.js';
export * from './signing-keys.js';
export * from './session-identity.js';
