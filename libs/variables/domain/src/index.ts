export * from './session-variables.js';
export * from './visitor-variables.js';
