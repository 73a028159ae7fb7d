/** Milliseconds to wait before retry number `attempt` (1 = the first retry). */
export type Backoff = number | ((attempt: number) => number);

export interface ExponentialBackoffOptions {
  initialMs?: number;
  maxMs?: number;
  factor?: number;
  /** Fraction of the delay drawn at random (0..1) so that many retriers do not retry in lockstep. */
  jitter?: number;
}

/** initialMs · factor^(attempt-1), capped at maxMs, with a little jitter. */
export function exponentialBackoff(options: ExponentialBackoffOptions = {}): (attempt: number) => number {
  const { initialMs = 100, maxMs = 10_000, factor = 2, jitter = 0.2 } = options;
  return (attempt) => {
    const base = Math.min(maxMs, initialMs * factor ** Math.max(0, attempt - 1));
    return Math.round(base * (1 - jitter * Math.random()));
  };
}

export function backoffDelay(backoff: Backoff, attempt: number): number {
  return Math.max(0, typeof backoff === 'number' ? backoff : backoff(attempt));
}

/** Waits `ms`, or less when `signal` aborts (then it resolves; callers check their own state). */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted || ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
