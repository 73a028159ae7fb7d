/** A dependency a service needs to answer requests (database, broker, projection caught up, …). */
export interface ReadinessCheck {
  name: string;
  /** Resolves true when healthy; false or a throw when not. Should answer within a second. */
  check: () => Promise<boolean>;
}

export async function runReadiness(checks: readonly ReadinessCheck[], timeoutMs = 2000) {
  const results: Record<string, { ok: boolean; error?: string }> = {};
  await Promise.all(
    checks.map(async ({ name, check }) => {
      try {
        const ok = await Promise.race([
          check(),
          new Promise<boolean>((_, reject) => setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs).unref()),
        ]);
        results[name] = ok ? { ok: true } : { ok: false, error: 'not ready' };
      } catch (error) {
        results[name] = { ok: false, error: error instanceof Error ? error.message : String(error) };
      }
    }),
  );
  return { ready: Object.values(results).every((r) => r.ok), checks: results };
}
