export * from './projection.js';
export * from './naming.js';
export * from './decisions.js';
export { CHECKPOINTS_TABLE, ProjectionTableChangedError, type Checkpoint } from './checkpoints.js';
export { applyDocumentBatch } from './document-table.js';
export * from './read-model-reader.js';
export * from './projection-runner.js';
export * from './document-cache.js';
