export * from './timer-store.js';
export * from './timer-worker.js';
