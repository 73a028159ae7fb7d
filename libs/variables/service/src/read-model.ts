import type { DocumentReader } from '@svp/service-kit';
import type { SessionVariablesDoc } from './session-variables.projection.js';

/** What the query side needs from the session-variables projection. */
export type VariablesReadModel = DocumentReader<SessionVariablesDoc>;
