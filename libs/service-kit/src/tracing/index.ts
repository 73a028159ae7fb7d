export * from './tracing.js';
export * from './sdk.js';
export * from './traced-store.js';
export * from './traced-bus.js';
export * from './http.js';
export * from './work.js';
export * from './infra.js';
