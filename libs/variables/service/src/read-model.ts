import type { DocumentReader } from '@svp/service-kit';
import type { SessionVariablesDoc } from './session-variables.projection.js';
import type { VisitorVariablesDoc } from './visitor-variables.projection.js';

/** What the query side needs from the session-variables projection. */
export type VariablesReadModel = DocumentReader<SessionVariablesDoc>;

/** What the query side needs from the visitor-variables projection. */
export type VisitorReadModel = DocumentReader<VisitorVariablesDoc>;
