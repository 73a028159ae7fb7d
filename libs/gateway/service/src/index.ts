export * from './gateway-service.js';
