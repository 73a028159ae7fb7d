export * from './org.js';
