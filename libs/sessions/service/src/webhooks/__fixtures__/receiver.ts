import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request a test receiver got, and what it answered. */
export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The raw body, as received. */
  body: string;
  /** What it answered (0 while the answer is pending). */
  status: number;
  receivedAt: number;
}

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /** Wait this long before answering. */
  delayMs?: number;
}

/** A real HTTP receiver on 127.0.0.1 (random port) whose answer the test decides per request. */
export interface TestReceiver {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  port: number;
  /** Every request, in the order they arrived. */
  requests: ReceivedRequest[];
  /** Requests being answered right now. */
  inFlight(): ReceivedRequest[];
  close(): Promise<void>;
}

export async function startReceiver(
  respond: (request: Omit<ReceivedRequest, 'status'>, index: number) => number | Reply | Promise<number | Reply> = () => 200,
): Promise<TestReceiver> {
  const requests: ReceivedRequest[] = [];
  const inFlight = new Set<ReceivedRequest>();
  let index = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const received = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        receivedAt: Date.now(),
      };
      const pending = { ...received, status: 0 };
      inFlight.add(pending);
      requests.push(pending);
      void (async () => {
        const answer = await respond(received, index++);
        const reply = typeof answer === 'number' ? { status: answer } : answer;
        if (reply.delayMs) await new Promise((resolve) => setTimeout(resolve, reply.delayMs));
        pending.status = reply.status;
        inFlight.delete(pending);
        if (res.destroyed) return;
        res.writeHead(reply.status, reply.headers);
        res.end(reply.body ?? '');
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    requests,
    inFlight: () => [...inFlight],
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
