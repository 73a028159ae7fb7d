import { OpsError, type Service } from '../client.js';
import type { Context } from '../context.js';

/** The services whose streams hold a session's events. */
export const EXPORT_SERVICES: readonly Service[] = ['identity', 'sessions', 'variables'];

/** One event of the export (a line of GET /admin/v1/orgs/{orgId}/sessions/{sessionId}/events). */
export interface ExportedEvent {
  service: string;
  stream: string;
  streamRevision: string;
  globalPosition: string;
  eventId: string;
  type: string;
  recordedAt: string;
  data: unknown;
  metadata: Record<string, unknown>;
}

export interface SessionExport {
  orgId: string;
  sessionId: string;
  exportedAt: string;
  counts: Record<string, number>;
  events: ExportedEvent[];
}

/**
 * `sessions export <sessionId>`: the session's full event history from every service (identity's
 * verification record, the lifecycle, the variables), merged in time order. NDJSON (one event a
 * line) by default; with --json one document with the counts. To `--out <file>` or stdout.
 */
export async function sessionsExport(
  ctx: Context,
  sessionId: string,
  options: { orgId?: string; services: readonly Service[]; out?: string },
): Promise<number> {
  const orgId = options.orgId ?? (await orgOfApiKey(ctx));
  const path = `/admin/v1/orgs/${encodeURIComponent(orgId)}/sessions/${encodeURIComponent(sessionId)}/events`;
  const responses = await Promise.all(options.services.map(async (service) => ({ service, response: await ctx.client.stream(service, path, { auth: 'root' }) })));
  const expected = responses.map(({ service, response }) => ({ service, count: Number(response.headers.get('x-event-count') ?? Number.NaN) }));
  const total = expected.reduce((sum, e) => sum + (Number.isFinite(e.count) ? e.count : 0), 0);
  const bar = ctx.out.progress(`export ${sessionId}`, total);
  const events: ExportedEvent[] = [];
  const counts: Record<string, number> = {};
  try {
    for (const { service, response } of responses) {
      counts[service] = 0;
      for await (const line of ndjsonLines(response)) {
        const parsed = JSON.parse(line) as ExportedEvent | { error: { code: string; message: string; details?: unknown } };
        if ('error' in parsed) throw new OpsError(parsed.error.code, `${service} stopped the export part-way: ${parsed.error.message}`, { service, details: parsed.error.details });
        events.push(parsed);
        counts[service]++;
        bar.update(events.length, undefined, service);
      }
      const want = expected.find((e) => e.service === service)!.count;
      if (Number.isFinite(want) && counts[service] !== want)
        throw new OpsError('INCOMPLETE', `${service} sent ${counts[service]} of the ${want} events it announced (a stream deleted or truncated while exporting?)`, { service });
    }
  } finally {
    bar.stop();
  }
  const order = new Map(EXPORT_SERVICES.map((s, i) => [s as string, i]));
  events.sort(
    (a, b) =>
      a.recordedAt.localeCompare(b.recordedAt) ||
      (order.get(a.service) ?? 9) - (order.get(b.service) ?? 9) ||
      a.stream.localeCompare(b.stream) ||
      Number(BigInt(a.streamRevision) - BigInt(b.streamRevision)),
  );
  const document: SessionExport = { orgId, sessionId, exportedAt: ctx.now().toISOString(), counts, events };
  const summary = `${events.length} event(s) of session ${sessionId} (${Object.entries(counts).map(([s, n]) => `${s} ${n}`).join(', ')})`;
  if (options.out) {
    await ctx.writeFile(options.out, ctx.out.json ? `${JSON.stringify(document, null, 2)}\n` : events.map((e) => `${JSON.stringify(e)}\n`).join(''));
    ctx.out.result({ ...document, events: undefined, out: options.out, total: events.length }, () => `exported ${summary} to ${options.out}`);
  } else if (ctx.out.json) ctx.out.result(document, () => '');
  else {
    if (events.length > 0) ctx.out.result(undefined, () => events.map((e) => JSON.stringify(e)).join('\n'));
    ctx.out.note(`exported ${summary}`);
  }
  return 0;
}

/** The org of the API key given (the export itself needs the root token and the org's id). */
async function orgOfApiKey(ctx: Context): Promise<string> {
  const { body } = await ctx.client.json<{ active: boolean; orgId?: string }>('identity', '/internal/v1/api-keys/introspect', { method: 'POST', auth: 'apiKey' });
  if (!body.active || !body.orgId) throw new OpsError('UNAUTHENTICATED', 'The API key given is not active: pass --org <orgId>', { service: 'identity' });
  return body.orgId;
}

/** The non-empty lines of a streamed NDJSON body. */
export async function* ndjsonLines(response: Response): AsyncGenerator<string> {
  if (!response.body) return;
  const decoder = new TextDecoder();
  let buffered = '';
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    buffered += decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline).trim();
      buffered = buffered.slice(newline + 1);
      if (line) yield line;
    }
  }
  const rest = (buffered + decoder.decode()).trim();
  if (rest) yield rest;
}
