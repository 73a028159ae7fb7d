export * from './event-store.js';
export * from './postgres/postgres-event-store.js';
