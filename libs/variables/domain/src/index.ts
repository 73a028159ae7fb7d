export * from './session-variables.js';
