/** Polls `condition` until it holds; fails naming `what` after the deadline. Never a fixed sleep. */
export async function waitFor(condition: () => boolean | Promise<boolean>, what = 'condition', timeoutMs = 30_000): Promise<void> {
  await eventually(async () => ((await condition()) ? true : undefined), what, timeoutMs);
}

/** Polls `probe` until it returns something other than undefined, and returns that. */
export async function eventually<T>(probe: () => Promise<T | undefined>, what = 'condition', timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline)
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
