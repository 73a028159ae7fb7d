export * from './infra.js';
export * from './wait.js';
export * from './pg-schema.js';
export * from './otlp-receiver.js';
