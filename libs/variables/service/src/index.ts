export * from './variables-service.js';
export * from './integration-events.js';
export * from './session-variables.projection.js';
export * from './visitor-variables.projection.js';
export * from './index-projections.js';
export * from './identity-consumer.js';
export * from './sessions-consumer.js';
export * from './salesiq.controller.js';
