/** What a query side needs from a document projection: a read by id, and read-your-writes. */
export interface DocumentReader<Doc> {
  get(id: string): Promise<Doc | undefined>;
  /** Resolves once the projection has applied the global log up to `position`; 503 past the timeout. */
  waitFor(position: bigint, timeoutMs?: number): Promise<void>;
}
