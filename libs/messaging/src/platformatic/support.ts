/**
 * @platformatic/kafka reports most failures as a MultipleErrors / ResponseError (an AggregateError)
 * whose own message names only the API ("Received response with error while executing API
 * Metadata(v12)"); what went wrong sits in the nested errors. These helpers read them.
 */

interface NestedError {
  message?: unknown;
  errors?: unknown;
  apiId?: unknown;
}

function nested(error: unknown): NestedError[] {
  const errors = (error as NestedError | undefined)?.errors;
  return Array.isArray(errors) ? (errors as NestedError[]) : [];
}

/** The error and every error nested in it, depth first. */
export function flattenErrors(error: unknown): unknown[] {
  const all: unknown[] = [error];
  for (const inner of nested(error)) all.push(...flattenErrors(inner));
  return all;
}

/** The Kafka protocol error names (e.g. OFFSET_OUT_OF_RANGE) anywhere in the error. */
export function protocolErrorIds(error: unknown): string[] {
  return flattenErrors(error)
    .map((e) => (e as NestedError | undefined)?.apiId)
    .filter((id): id is string => typeof id === 'string');
}

/** One line: the error's message and, in brackets, the distinct messages nested in it. */
export function describeError(error: unknown): string {
  const [outer, ...inner] = flattenErrors(error).map((e) =>
    e instanceof Error ? e.message : typeof (e as NestedError)?.message === 'string' ? String((e as NestedError).message) : String(e),
  );
  const details = [...new Set(inner.filter((message) => message && message !== outer))];
  return details.length === 0 ? String(outer) : `${outer} (${details.join('; ')})`;
}

/** Rejects with "timed out after <ms> ms" when `promise` takes longer. */
export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * A response @platformatic/kafka 1.x failed to parse ("Out of bounds."): its Reader#readTaggedFields
 * reads the tagged-field count as a zigzag varint and skips that many bytes (a count of 1 reads as
 * -1: nothing is skipped), so a response that carries a tagged field is misread. Kafka 3.7+ (KIP-951) adds one, CurrentLeader, to every partition of a
 * Produce or Fetch response that says NOT_LEADER_OR_FOLLOWER, as it does for a moment after a topic
 * is created or when leadership moves. The request itself was answered; only the answer was lost.
 */
export function isUnreadResponse(error: unknown): boolean {
  return flattenErrors(error).some((e) => (e as { code?: unknown } | undefined)?.code === 'PLT_KFK_OUT_OF_BOUNDS');
}
