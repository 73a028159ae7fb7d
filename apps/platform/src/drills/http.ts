/**
 * The small HTTP client of the drills and of the end-to-end checks (fetch, JSON when the answer is
 * JSON): every call answers status, body and headers, never throws on a 4xx or 5xx. It throws when
 * no answer comes (connection refused or cut) or none within `timeoutMs` (default 30 s: a drill's
 * load never hangs on one request).
 */
export interface HttpAnswer<T = unknown> {
  status: number;
  body: T;
  headers: Headers;
}

export async function call<T = any>( // eslint-disable-line @typescript-eslint/no-explicit-any
  url: string,
  init: { method?: string; key?: string; body?: unknown; rawBody?: string; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<HttpAnswer<T>> {
  const headers: Record<string, string> = { ...(init.headers ?? {}) };
  if (init.key) headers.authorization = `Bearer ${init.key}`;
  if (init.body !== undefined || init.rawBody !== undefined) headers['content-type'] ??= 'application/json';
  const response = await fetch(url, {
    method: init.method ?? 'GET',
    headers,
    body: init.rawBody ?? (init.body === undefined ? undefined : JSON.stringify(init.body)),
    signal: AbortSignal.timeout(init.timeoutMs ?? 30_000),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON (metrics, docs)
  }
  return { status: response.status, body: body as T, headers: response.headers };
}

export async function createOrg(identityUrl: string, rootToken: string, name = 'Test org'): Promise<{ orgId: string; apiKey: string }> {
  const answer = await call<{ orgId: string; apiKey: string }>(`${identityUrl}/v1/orgs`, { method: 'POST', key: rootToken, body: { name } });
  if (answer.status !== 201) throw new Error(`org creation answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  return answer.body;
}
