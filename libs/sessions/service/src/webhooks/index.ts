export * from './signing.js';
export * from './payload.js';
export * from './ssrf.js';
export * from './schedule.js';
export * from './delivery-store.js';
export * from './dispatcher.js';
