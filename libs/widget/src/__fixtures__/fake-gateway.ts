// A fake of the platform's GraphQL gateway for the widget's unit tests: it answers each operation the
// widget sends the way the gateway's schema (libs/gateway/service/src/schema.ts) and the services'
// rules say: a widget key may only start sessions; a visitor token reaches only its own session and
// visitor, until it expires; an expired token still proves its visitor to a new session for 30 days;
// an ended session is not refreshed (CONFLICT). Time is Date.now(), so Jest's fake timers drive it.

export const WIDGET_KEY = 'svp_widget_test';
/** An org key with sessions:write: what a business's back-end starts sessions with. */
export const ORG_KEY = 'svp_org_test';
const PROOF_MS = 30 * 86_400_000;

export interface Call {
  operation: string;
  variables: Record<string, unknown>;
  authorization: string | undefined;
}

export interface FakeError {
  code: string;
  message?: string;
  status?: number;
  details?: unknown;
}

interface FakeSession {
  sessionId: string;
  visitorId: string;
  channelId: string;
  brandId: string | null;
  sessionStatus: 'CREATED' | 'OPEN' | 'ENDED' | 'BLOCKED';
  variables: Map<string, unknown>;
}

interface TokenRecord {
  sessionId: string;
  visitorId: string;
  expiresAt: number;
}

class GraphQLFailure extends Error {
  constructor(readonly error: FakeError) {
    super(error.message ?? error.code);
  }
}

const STATUS: Record<string, number> = { VALIDATION_FAILED: 400, UNAUTHENTICATED: 401, INVALID_TOKEN: 401, FORBIDDEN: 403, NOT_FOUND: 404, CONFLICT: 409, LIMIT_EXCEEDED: 422, RATE_LIMITED: 429 };

const base64url = (value: unknown) => btoa(JSON.stringify(value)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');

/** A compact JWT with this header and payload (the signature is not checked by anyone here). */
export function fakeJwt(header: Record<string, unknown>, payload: Record<string, unknown> = {}): string {
  return `${base64url(header)}.${base64url(payload)}.c2lnbmF0dXJl`;
}

export class FakeGateway {
  readonly calls: Call[] = [];
  readonly sessions = new Map<string, FakeSession>();
  ttlSeconds = 900;
  private readonly tokens = new Map<string, TokenRecord>();
  private readonly failures: { operation: string; failure: FakeError | 'network' }[] = [];
  private readonly holds: { operation: string; gate: Promise<void> }[] = [];
  private seq = 0;

  /** The gateway as `fetch` (what init's `fetch` option takes). */
  readonly fetch = async (url: string, init: { method: string; headers: Record<string, string>; body: string }) => {
    const { query, variables } = JSON.parse(init.body) as { query: string; variables: Record<string, unknown> };
    const operation = /^(?:query|mutation|subscription)\s+(\w+)/.exec(query)?.[1] ?? 'anonymous';
    const authorization = init.headers.authorization;
    this.calls.push({ operation, variables, authorization });
    if (url !== 'http://gateway.test/graphql' || init.method !== 'POST') throw new Error(`unexpected ${init.method} ${url}`);
    const planned = this.take(this.failures, operation);
    if (planned?.failure === 'network') throw new TypeError('Failed to fetch');
    let answer: ReturnType<typeof json>;
    try {
      if (planned) throw new GraphQLFailure(planned.failure);
      const credential = authorization?.replace(/^Bearer /, '');
      answer = json(200, { data: { [rootField(operation)]: this.execute(operation, variables, credential) } });
    } catch (error) {
      if (!(error instanceof GraphQLFailure)) throw error;
      const { code, message, status, details } = error.error;
      answer = json(200, { data: null, errors: [{ message: message ?? code, extensions: { code, status: status ?? STATUS[code] ?? 500, ...(details !== undefined ? { details } : {}) } }] });
    }
    // A held answer has been decided (the gateway did the work) and is still on its way back.
    const hold = this.take(this.holds, operation);
    if (hold) await hold.gate;
    return answer;
  };

  /** The next call of `operation` fails: with a GraphQL error, or as a network failure. */
  failNext(operation: string, failure: FakeError | 'network'): void {
    this.failures.push({ operation, failure });
  }

  /** The answer to the next call of `operation` (decided at once) arrives when the returned function is called. */
  holdNext(operation: string): () => void {
    let release!: () => void;
    this.holds.push({ operation, gate: new Promise<void>((resolve) => (release = resolve)) });
    return release;
  }

  /** The calls of one operation, in order. */
  callsOf(operation: string): Call[] {
    return this.calls.filter((call) => call.operation === operation);
  }

  /** A session started by the business's back-end with its org key; answers its visitor token. */
  startWithOrgKey(channelId: string): { sessionId: string; visitorId: string; visitorToken: string } {
    const session = this.newSession(channelId, null, `vis_${++this.seq}`);
    return { sessionId: session.sessionId, visitorId: session.visitorId, visitorToken: this.mint(session).visitorToken };
  }

  /** Ends a session as an agent would. */
  end(sessionId: string): void {
    this.sessions.get(sessionId)!.sessionStatus = 'ENDED';
  }

  private execute(operation: string, variables: Record<string, unknown>, credential: string | undefined): unknown {
    switch (operation) {
      case 'StartSession': {
        if (credential !== WIDGET_KEY && credential !== ORG_KEY) fail('UNAUTHENTICATED', 'Unknown API key');
        let visitorId = `vis_${++this.seq}`;
        if (typeof variables.visitorToken === 'string') {
          const proof = this.tokens.get(variables.visitorToken);
          if (!proof || Date.now() - proof.expiresAt > PROOF_MS)
            fail('UNAUTHENTICATED', 'The visitor token does not prove a visitor of this org', { field: 'visitorToken' });
          visitorId = proof.visitorId;
        }
        const session = this.newSession(variables.channelId as string, (variables.brandId as string | undefined) ?? null, visitorId);
        for (const { name, value } of (variables.sessionVariableValues as { name: string; value: unknown }[] | undefined) ?? []) session.variables.set(name, value);
        return { sessionId: session.sessionId, visitorId, sessionStatus: 'CREATED', ...this.mint(session) };
      }
      case 'Session': {
        const session = this.sessions.get(variables.id as string);
        this.visitorOf(credential, variables.id as string);
        return session ? sessionView(session) : null;
      }
      case 'SessionVariables':
        this.visitorOf(credential, variables.sessionId as string);
        return variablesOf(this.sessions.get(variables.sessionId as string)!);
      case 'SetSessionVariables': {
        this.visitorOf(credential, variables.sessionId as string);
        const session = this.sessions.get(variables.sessionId as string)!;
        for (const { name, value } of variables.values as { name: string; value: unknown }[]) session.variables.set(name, value);
        return variablesOf(session);
      }
      case 'SubmitVisitorVariables':
      case 'Visitor': {
        const token = this.valid(credential);
        const visitorId = (variables.visitorId ?? variables.id) as string;
        if (token.visitorId !== visitorId) fail('FORBIDDEN', 'Another visitor');
        return { visitorId, displayName: 'Visitor', variables: [] };
      }
      case 'Authenticate':
        this.visitorOf(credential, variables.sessionId as string);
        return variables.token === 'good.identity.jwt'
          ? { authenticated: true, externalId: 'ext-1', name: 'John', email: 'john@example.com', claims: { plan: 'gold' }, reason: null, detail: null }
          : { authenticated: false, externalId: null, name: null, email: null, claims: {}, reason: 'SIGNATURE_INVALID', detail: 'bad signature' };
      case 'EndSession': {
        this.visitorOf(credential, variables.sessionId as string);
        const session = this.sessions.get(variables.sessionId as string)!;
        if (session.sessionStatus === 'ENDED') fail('CONFLICT', 'Session already ended', { currentStatus: 'ENDED' });
        session.sessionStatus = 'ENDED';
        return { sessionId: session.sessionId, sessionStatus: 'ENDED' };
      }
      case 'RefreshVisitorToken': {
        this.visitorOf(credential, variables.sessionId as string);
        const session = this.sessions.get(variables.sessionId as string)!;
        if (session.sessionStatus === 'ENDED' || session.sessionStatus === 'BLOCKED') fail('CONFLICT', `Session is ${session.sessionStatus}`);
        return { sessionId: session.sessionId, visitorId: session.visitorId, ...this.mint(session) };
      }
      default:
        throw new Error(`the fake gateway does not know ${operation}`);
    }
  }

  private newSession(channelId: string, brandId: string | null, visitorId: string): FakeSession {
    const session: FakeSession = { sessionId: `ses_${++this.seq}`, visitorId, channelId, brandId, sessionStatus: 'CREATED', variables: new Map() };
    this.sessions.set(session.sessionId, session);
    return session;
  }

  private mint(session: FakeSession): { visitorToken: string; visitorTokenExpiresAt: string } {
    const expiresAt = Math.floor(Date.now() / 1000) * 1000 + this.ttlSeconds * 1000;
    const visitorToken = `svpv_${fakeJwt({ alg: 'HS256', typ: 'JWT' }, { sid: session.sessionId, sub: session.visitorId, exp: expiresAt / 1000, jti: ++this.seq })}`;
    this.tokens.set(visitorToken, { sessionId: session.sessionId, visitorId: session.visitorId, expiresAt });
    return { visitorToken, visitorTokenExpiresAt: new Date(expiresAt).toISOString() };
  }

  private valid(credential: string | undefined): TokenRecord {
    if (credential === WIDGET_KEY) fail('FORBIDDEN', 'A widget key may only start sessions');
    const token = credential === undefined ? undefined : this.tokens.get(credential);
    if (!token || token.expiresAt <= Date.now()) fail('UNAUTHENTICATED', 'Invalid or expired credential');
    return token;
  }

  private visitorOf(credential: string | undefined, sessionId: string): TokenRecord {
    const token = this.valid(credential);
    if (token.sessionId !== sessionId) fail('FORBIDDEN', 'A visitor token reaches only its own session');
    return token;
  }

  private take<T extends { operation: string }>(list: T[], operation: string): T | undefined {
    const index = list.findIndex((entry) => entry.operation === operation);
    return index < 0 ? undefined : list.splice(index, 1)[0];
  }
}

function fail(code: string, message: string, details?: unknown): never {
  throw new GraphQLFailure({ code, message, details });
}

function rootField(operation: string): string {
  const fields: Record<string, string> = { Session: 'session', SessionVariables: 'sessionVariables', Visitor: 'visitor' };
  return fields[operation] ?? operation.charAt(0).toLowerCase() + operation.slice(1);
}

function json(status: number, body: unknown) {
  return { status, json: async () => body };
}

function sessionView(session: FakeSession) {
  return {
    sessionId: session.sessionId,
    orgId: 'org_1',
    channelId: session.channelId,
    brandId: session.brandId,
    visitorId: session.visitorId,
    sessionStatus: session.sessionStatus,
    sessionOldStatus: null,
    replyStatus: session.sessionStatus === 'ENDED' ? 'SESSION_ENDED' : 'UNASSIGNED',
    currentAssigneeId: null,
    assigneeType: null,
    messagesCount: 0,
    startedAt: '2026-12-02T10:00:00.000Z',
    endedAt: null,
    endReason: null,
    visitorOnline: null,
    metadata: { providedName: null, providedEmail: null, authenticatedExternalId: null, authenticatedStatus: false },
  };
}

function variablesOf(session: FakeSession) {
  return [...session.variables].map(([name, value]) => ({ name, value, scope: 'session', source: 'widget', verified: false, updatedAt: new Date(Date.now()).toISOString(), version: 1 }));
}

/** A Storage in memory. */
export class MemoryStorage {
  readonly items = new Map<string, string>();
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.items.set(key, value);
  }
  removeItem(key: string): void {
    this.items.delete(key);
  }
  /** The parsed JSON under `key`. */
  json(key: string): unknown {
    const text = this.items.get(key);
    return text === undefined ? undefined : JSON.parse(text);
  }
}
