export * from './common.js';
export * from './limits.js';
export * from './session-variables.js';
export * from './visitor-variables.js';
export * from './settings.js';
export * from './erasure.js';
export * from './history.js';
