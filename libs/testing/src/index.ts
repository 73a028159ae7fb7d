export * from './infra.js';
export * from './wait.js';
export * from './pg-schema.js';
