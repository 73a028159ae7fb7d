import type { CliDeps } from '../cli.js';

/** A recorded request to a fake service. */
export interface SeenRequest {
  method: string;
  url: string;
  path: string;
  authorization: string | undefined;
  body: unknown;
}

/** `stream`: a body of its own (NDJSON that never ends, to see whether it is cancelled). */
type Answer = { status?: number; body?: unknown; text?: string; stream?: ReadableStream<Uint8Array>; headers?: Record<string, string> };
export type Route = (request: SeenRequest) => Answer | Promise<Answer>;

/**
 * Services faked at the fetch boundary (`METHOD /path` → answer), for the CLI's unit tests: what it
 * asks, with which credential, and what it makes of the answers. A route not set answers 404 with
 * the contract's error body.
 */
export function fakeServices(routes: Record<string, Route | Answer>) {
  const seen: SeenRequest[] = [];
  const fetchImpl = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input));
    const headers = (init?.headers ?? {}) as Record<string, string>;
    const request: SeenRequest = {
      method: init?.method ?? 'GET',
      url: url.href,
      path: url.pathname + url.search,
      authorization: headers.authorization,
      body: typeof init?.body === 'string' ? JSON.parse(init.body) : undefined,
    };
    seen.push(request);
    const route = routes[`${request.method} ${url.origin}${url.pathname}`] ?? routes[`${request.method} ${url.pathname}`];
    const answer: Answer = route === undefined ? { status: 404, body: { error: { code: 'NOT_FOUND', message: `no route ${request.method} ${url.pathname}` } } } : typeof route === 'function' ? await route(request) : route;
    const text = answer.text ?? (answer.body === undefined ? '' : JSON.stringify(answer.body));
    const ndjson = answer.text !== undefined || answer.stream !== undefined;
    return new Response(answer.stream ?? text, { status: answer.status ?? 200, headers: { 'content-type': ndjson ? 'application/x-ndjson' : 'application/json', ...(answer.headers ?? {}) } });
  }) as typeof fetch;
  return { fetch: fetchImpl, seen };
}

/**
 * An NDJSON body that sends `lines` and then never ends, unless it is cancelled: `cancelled` says
 * whether the CLI let go of it.
 */
export function endlessBody(lines: readonly string[] = []) {
  const state = { cancelled: false };
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const line of lines) controller.enqueue(new TextEncoder().encode(`${line}\n`));
    },
    pull: () => new Promise<void>(() => undefined),
    cancel() {
      state.cancelled = true;
    },
  });
  return { stream, state };
}

/**
 * CliDeps writing into strings, with a clock that jumps on sleep. With `tty`, stderr claims to be a
 * terminal (so progress bars are drawn into `out.stderr`, escape codes and all).
 */
export function testDeps(fetchImpl: typeof fetch, env: Record<string, string | undefined> = {}, options: { tty?: boolean } = {}) {
  const out = { stdout: '', stderr: '' };
  let now = Date.parse('2026-12-02T12:00:00Z');
  const files = new Map<string, string>();
  const deps: CliDeps = {
    env: { PLATFORM_ROOT_TOKEN: 'root_test', SVP_API_KEY: 'svp_test', ...env },
    fetch: fetchImpl,
    stdout: { write: (s: string) => (out.stdout += s) },
    stderr: Object.assign({ write: (s: string) => (out.stderr += s), isTTY: options.tty === true }, options.tty ? { columns: 200 } : {}),
    sleep: async (ms) => void (now += ms),
    now: () => new Date(now),
    readFile: async (path) => {
      const text = files.get(path);
      if (text === undefined) throw new Error(`ENOENT: no such file, open '${path}'`);
      return text;
    },
    writeFile: async (path, data) => void files.set(path, data),
  };
  return { deps, out, files, json: () => JSON.parse(out.stdout) };
}
