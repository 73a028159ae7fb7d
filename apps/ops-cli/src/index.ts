export * from './cli.js';
export * from './client.js';
export * from './output.js';
