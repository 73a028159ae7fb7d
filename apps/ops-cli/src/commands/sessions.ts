import { ExportedEvent } from '@svp/contracts';
import { OpsError, type Service } from '../client.js';
import type { Context } from '../context.js';
import type { Progress } from '../output.js';

/** The services whose streams hold a session's events. */
export const EXPORT_SERVICES: readonly Service[] = ['identity', 'sessions', 'variables'];

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
 * A session no service has an event of is NOT_FOUND (exit 1), not an empty export.
 */
export async function sessionsExport(
  ctx: Context,
  sessionId: string,
  options: { orgId?: string; services: readonly Service[]; out?: string },
): Promise<number> {
  const orgId = options.orgId ?? (await orgOfApiKey(ctx));
  const path = `/admin/v1/orgs/${encodeURIComponent(orgId)}/sessions/${encodeURIComponent(sessionId)}/events`;
  // The three are asked at once (their x-event-count gives the bar its total) and read one after
  // another. Every body opened is cancelled in the end: one left unread (a request that failed, an
  // export cut short) would keep its socket, and the process, alive.
  const opened: Response[] = [];
  const events: ExportedEvent[] = [];
  const counts: Record<string, number> = {};
  let bar: Progress | undefined;
  try {
    const settled = await Promise.allSettled(
      options.services.map(async (service) => {
        const response = await ctx.client.stream(service, path, { auth: 'root' });
        opened.push(response);
        return { service, response, expected: Number(response.headers.get('x-event-count') ?? Number.NaN) };
      }),
    );
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    const responses = settled.map((r) => (r as PromiseFulfilledResult<{ service: Service; response: Response; expected: number }>).value);
    bar = ctx.out.progress(`export ${sessionId}`, responses.reduce((sum, r) => sum + (Number.isFinite(r.expected) ? r.expected : 0), 0));
    for (const { service, response, expected } of responses) {
      counts[service] = 0;
      for await (const line of ndjsonLines(response)) {
        events.push(exportLine(service, line));
        counts[service]++;
        bar.update(events.length, undefined, service);
      }
      if (Number.isFinite(expected) && counts[service] !== expected)
        throw new OpsError('INCOMPLETE', `${service} sent ${counts[service]} of the ${expected} events it announced (a stream deleted or truncated while exporting?)`, { service });
    }
  } finally {
    bar?.stop();
    await Promise.all(opened.map(cancelBody));
  }
  if (events.length === 0)
    throw new OpsError('NOT_FOUND', `No event of session ${sessionId} in org ${orgId} in ${options.services.join(', ')}: an unknown session, or another org (--org)`, {
      details: { orgId, sessionId, services: options.services },
    });
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

/** One line of a service's export: an ExportedEvent (libs/contracts), or the error line that ends a failed one. */
function exportLine(service: Service, line: string): ExportedEvent {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new OpsError('BAD_EXPORT', `${service} sent a line of its export that is not JSON: ${line.slice(0, 200)}`, { service });
  }
  const failure = (value as { error?: { code?: unknown; message?: unknown; details?: unknown } } | null)?.error;
  if (failure && typeof failure === 'object')
    throw new OpsError(String(failure.code ?? 'FAILED'), `${service} stopped the export part-way: ${String(failure.message ?? 'no message')}`, { service, details: failure.details });
  const event = ExportedEvent.safeParse(value);
  if (!event.success) throw new OpsError('BAD_EXPORT', `${service} sent a line of its export that is not an event: ${line.slice(0, 200)}`, { service, details: event.error.issues });
  // As sent (a field added to the line since this CLI was built is kept, not stripped).
  return value as ExportedEvent;
}

/** Lets go of a response body: cancels it when nobody read it to the end (reading ones are cancelled by their iterator). */
async function cancelBody(response: Response): Promise<void> {
  if (!response.body || response.body.locked) return;
  await response.body.cancel().catch(() => undefined);
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
