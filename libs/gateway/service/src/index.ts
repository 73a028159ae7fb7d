export * from './gateway-service.js';
export * from './schema.js';
export * from './live-hub.js';
export * from './freshness.js';
export * from './demo/demo-config.js';
