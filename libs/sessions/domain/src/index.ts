export type { Decision, DomainError, DomainErrorCode } from './decision.js';
export * from './session.js';
export * from './reply-status.js';
export * from './channel.js';
export * from './webhook.js';
export * from './settings.js';
export * from './timers.js';
