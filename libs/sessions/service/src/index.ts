export * from './sessions-service.js';
export * from './variable-activity.js';
export * from './integration-events.js';
export { verifyWebhook, verifyXSignature, verifyStandardWebhook, signWebhook } from './webhooks/index.js';
