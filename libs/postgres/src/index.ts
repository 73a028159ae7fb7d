export * from './sql-client.js';
export * from './pg-sql-client.js';
export * from './pglite-sql-client.js';
