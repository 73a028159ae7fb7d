export * from './sessions-service.js';
export * from './variable-activity.js';
