export * from './identity-service.js';
export * from './api-keys.js';
