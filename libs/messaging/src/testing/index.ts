// Test-only entry: the contract suite imports @jest/globals, so production code never imports this.
export * from './message-bus.contract.js';
export * from './store-fixtures.js';
