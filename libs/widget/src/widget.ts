import * as gql from './documents.js';
import { WidgetError, isRefusal, isTransient, toWidgetError } from './errors.js';
import { decodeJwt, readVisitorToken } from './jwt.js';
import { LiveSubscriptions } from './live.js';
import { SessionStore, type StoredSession, type WidgetStorage, defaultStorage } from './storage.js';
import { type FetchLike, GraphQLHttp } from './transport.js';
import type {
  Authentication,
  NameValue,
  RoomInput,
  Session,
  SessionStatus,
  SessionStatusEvent,
  SigningAlg,
  Variable,
  VariableValue,
  VariablesChangedEvent,
  Visitor,
} from './types.js';

/** What {@link init} takes. Give `widgetKey` (with `channelId`), or `sessionToken`, or both. */
export interface InitOptions {
  /** The gateway's base URL, e.g. `http://localhost:4000` (GraphQL is at `/graphql` under it, HTTP and WebSocket). */
  apiUrl: string;
  /**
   * A widget key (`svp_…`): an org API key whose only scope is `widget`, safe to publish in a page.
   * It can only start sessions; everything else uses the session's visitor token.
   */
  widgetKey?: string;
  /**
   * A visitor token (`svpv_…`) that the business's back-end obtained with its own org key
   * (`startSession`). With it alone, no widget key is needed; the session cannot be replaced by a new
   * one when it has ended, though (give a widget key as well for that).
   */
  sessionToken?: string;
  /** The channel a new session starts on. Required with `widgetKey`. */
  channelId?: string;
  /** The brand a new session belongs to. */
  brandId?: string;
  /**
   * Session variables (Zoho style), e.g. `[{ name: 'UserName', value: 'John' }]`: a new session starts
   * with them; a resumed one gets them merged in (`setSessionVariables`), so the page's current values win.
   */
  sessionVariableValues?: NameValue[];
  /**
   * A messaging JWT (Zendesk style), signed by the business: `authenticate(sessionId, token)` runs right
   * after the session starts or resumes; its outcome is `widget.authentication`.
   */
  identityToken?: string;
  /** Where the session is kept between page loads. Default `localStorage` when there is one; `null`: nowhere. */
  storage?: WidgetStorage | null;
  /** The storage key. Default `'svp-widget:' + channelId`. */
  storageKey?: string;
  /** The `fetch` to use (tests, hosts without one). Default the global `fetch`. */
  fetch?: typeof fetch | FetchLike;
  /** The WebSocket constructor for live events (e.g. the `ws` package on Node 20). Default the global `WebSocket`. */
  webSocketImpl?: unknown;
}

/** The events {@link Widget.on} delivers, by name. */
export interface WidgetEvents {
  /** The session's status at once (`eventId` null), then every change (`sessionStatusChanged`); the current status again after a reconnect. */
  statusChanged: SessionStatusEvent;
  /** The session's variables at once (kind CURRENT), then every change, its visitor's included (`variablesChanged`); CURRENT again after a reconnect. */
  variablesChanged: VariablesChangedEvent;
  /** A failure of the widget's background work: a token refresh, a live subscription. */
  error: WidgetError;
}

/** The payload of `triggerEvent('setVariable', …)` (Zoho). */
export interface SetVariablePayload {
  sessionVariableValues: NameValue[];
}

/** Data a visitor submits (giosg): names to values. */
export type VisitorData = Record<string, VariableValue>;

/** The visitor of the session (giosg's `visitor` API). */
export interface WidgetVisitor {
  /**
   * Submits visitor variables (giosg `submit`); they live on the visitor, across its sessions.
   *
   * - Plain: `submit({ plan: 'gold' })` or `submit(data, 'plain')`: shown as unverified.
   * - Signed: `submit(null, '<JWT>')`: the JWT, signed with one of the org's signing keys (its `kid`
   *   header), is sent as `token` with the algorithm read from its header; its claims (less the
   *   registered ones) are the data, shown as verified. giosg's own order, `submit('<JWT>', 'HS256')`,
   *   works too.
   *
   * @param replaceExisting true replaces all earlier visitor data; false (the default) merges,
   *   overwriting only the same keys.
   * @param rooms limits the data to some rooms: `{ id }`, `{ name }`, or a string (a name).
   * @returns the visitor with its variables. The key `username` sets its display name.
   * @throws WidgetError `VALIDATION_FAILED` for a signing that is neither `'plain'` nor a JWT with an
   *   allowed `alg`; `INVALID_TOKEN` (from the platform) for a JWT that does not verify.
   */
  submit(data: VisitorData | string | null | undefined, signing?: string, replaceExisting?: boolean, rooms?: readonly (RoomInput | string)[]): Promise<Visitor>;
  /** The visitor with its variables (visitor scope), limited to a room's when `room` is given. */
  get(room?: string): Promise<Visitor>;
}

/** A started or resumed session, what {@link init} answers. */
export interface Widget {
  /** The session's id (stable across page loads while the session lives). */
  readonly sessionId: string;
  /** The visitor's id (stable across sessions while the browser keeps the visitor token). */
  readonly visitorId: string;
  /** The session's channel. */
  readonly channelId: string;
  /** True when init resumed the stored (or given) session; false when it started a new one. */
  readonly resumed: boolean;
  /** The outcome of `identityToken`, when init was given one. */
  readonly authentication: Authentication | undefined;
  /** The visitor (giosg style visitor variables). */
  readonly visitor: WidgetVisitor;
  /**
   * Zoho's `triggerEvent`: `'setVariable'` merges session variables (same name overwrites).
   * @returns every variable of the session afterwards.
   */
  triggerEvent(event: 'setVariable', payload: SetVariablePayload): Promise<Variable[]>;
  /** Verifies a messaging JWT for the session (Zendesk style); its verified claims become the metadata variables. */
  authenticate(identityToken: string): Promise<Authentication>;
  /** The session's variables: session, visitor and metadata scopes together (session wins a name clash). */
  getVariables(room?: string): Promise<Variable[]>;
  /** The session now. */
  getSession(): Promise<Session>;
  /**
   * Listens to an event; the live subscription of that kind opens with its first listener and closes
   * with its last. @returns a function that removes the listener.
   */
  on<K extends keyof WidgetEvents>(event: K, listener: (event: WidgetEvents[K]) => void): () => void;
  /**
   * Ends the session (`endSession`, reason `logout`), then forgets it: the stored session is removed
   * even when the end failed (a session already ended is not an error), so the next user of this
   * browser never resumes it; the socket and the refresh timer stop. Rejects with the end's error
   * when it was anything else than already ended (the session is forgotten all the same).
   */
  logout(): Promise<void>;
  /** Stops the socket and the refresh timer without ending the session (the next init resumes it). */
  close(): void;
}

/** How close to its expiry a token is treated as expired already (clock skew, request time). */
const EXPIRY_MARGIN_MS = 5_000;
/** A token is refreshed when this share of its remaining lifetime has passed. */
const REFRESH_AT = 2 / 3;
const MIN_REFRESH_DELAY_MS = 1_000;
const MAX_REFRESH_RETRY_MS = 30_000;
/** setTimeout's largest delay. */
const MAX_TIMER_MS = 2_147_483_647;
const SIGNING_ALGS: readonly SigningAlg[] = ['HS256', 'RS256', 'ES256'];
const isSigningAlg = (value: unknown): value is SigningAlg => SIGNING_ALGS.includes(value as SigningAlg);
const FINAL_STATUSES: readonly SessionStatus[] = ['ENDED', 'BLOCKED'];

interface StartSessionPayload {
  sessionId: string;
  visitorId: string;
  sessionStatus: SessionStatus;
  visitorToken: string;
  visitorTokenExpiresAt: string;
}

/**
 * Starts the widget's session, or resumes the one this browser holds.
 *
 * 1. A stored (or given `sessionToken`) session whose visitor token has not expired is read with that
 *    token: when it is live (not ENDED or BLOCKED) it is resumed, and `sessionVariableValues` are
 *    merged into it.
 * 2. Otherwise (token expired, session over, token refused) a new session starts with the widget key,
 *    proving the returning visitor with the old token (`visitorToken`): the same visitor, its visitor
 *    variables kept. If that proof is refused too (older than 30 days, another platform's), a new
 *    visitor starts.
 * 3. Then `identityToken`, if given, is verified for the session.
 *
 * A failure that may pass (network, rate limit, 5xx) rejects without touching the stored session.
 *
 * @throws WidgetError `VALIDATION_FAILED` for missing options; the gateway's errors otherwise.
 */
export async function init(options: InitOptions): Promise<Widget> {
  const config = configure(options);
  const given = options.sessionToken !== undefined ? fromSessionToken(options.sessionToken) : undefined;
  const presetKey = options.storageKey ?? (options.channelId !== undefined ? `svp-widget:${options.channelId}` : undefined);
  const presetStore = config.storage && presetKey !== undefined ? new SessionStore(config.storage, presetKey) : undefined;
  const stored = usableStored(presetStore?.load(), options.channelId);
  const candidate = fresher(given, stored);

  const { session, resumed } = await openSession(config, candidate);
  const store = presetStore ?? (config.storage ? new SessionStore(config.storage, `svp-widget:${session.channelId}`) : undefined);
  const widget = new WidgetSession(config, session, resumed, store);
  store?.save(session);
  widget.startRefreshing();
  if (options.identityToken !== undefined) {
    try {
      await widget.signIn(options.identityToken);
    } catch (error) {
      widget.close();
      throw error;
    }
  }
  return widget;
}

interface Config {
  options: InitOptions;
  http: GraphQLHttp;
  wsUrl: string;
  storage: WidgetStorage | undefined;
}

function configure(options: InitOptions): Config {
  if (typeof options.apiUrl !== 'string' || !/^https?:\/\//i.test(options.apiUrl))
    throw invalid('apiUrl must be the gateway\'s http(s) URL, e.g. "http://localhost:4000"');
  if (options.widgetKey === undefined && options.sessionToken === undefined) throw invalid('Give a widgetKey (with channelId) or a sessionToken');
  if (options.widgetKey !== undefined && !options.channelId) throw invalid('channelId is required with widgetKey');
  const base = options.apiUrl.replace(/\/+$/, '');
  const fetchImpl = (options.fetch as FetchLike | undefined) ?? globalFetch();
  return {
    options,
    http: new GraphQLHttp(`${base}/graphql`, fetchImpl),
    wsUrl: `${base.replace(/^http/i, 'ws')}/graphql`,
    storage: options.storage === null ? undefined : (options.storage ?? defaultStorage()),
  };
}

function globalFetch(): FetchLike {
  const f = (globalThis as { fetch?: typeof fetch }).fetch;
  if (!f) throw invalid('There is no global fetch: pass fetch to init');
  // Called unbound, a browser's fetch throws "Illegal invocation".
  return f.bind(globalThis) as unknown as FetchLike;
}

function invalid(message: string): WidgetError {
  return new WidgetError(message, { code: 'VALIDATION_FAILED' });
}

/** A session as a given visitor token names it (its channel is learned when the session is read). */
function fromSessionToken(token: string): StoredSession {
  const named = readVisitorToken(token);
  if (!named) throw invalid('sessionToken is not a visitor token (svpv_…)');
  return { sessionId: named.sessionId, visitorId: named.visitorId, visitorToken: token, visitorTokenExpiresAt: named.expiresAt, channelId: '' };
}

function usableStored(stored: StoredSession | undefined, channelId: string | undefined): StoredSession | undefined {
  return stored && (channelId === undefined || stored.channelId === channelId) ? stored : undefined;
}

/** The given token, unless the stored one is for the same session and lasts longer (refreshed since). */
function fresher(given: StoredSession | undefined, stored: StoredSession | undefined): StoredSession | undefined {
  if (!given) return stored;
  if (stored && stored.sessionId === given.sessionId && Date.parse(stored.visitorTokenExpiresAt) > Date.parse(given.visitorTokenExpiresAt)) return stored;
  return given;
}

function expired(expiresAt: string): boolean {
  return Date.parse(expiresAt) - Date.now() <= EXPIRY_MARGIN_MS;
}

async function openSession(config: Config, candidate: StoredSession | undefined): Promise<{ session: StoredSession; resumed: boolean }> {
  const { http, options } = config;
  let failure: WidgetError | undefined;
  if (candidate && !expired(candidate.visitorTokenExpiresAt)) {
    let session: Session | null | undefined;
    try {
      ({ session } = await http.request<{ session: Session | null }>(gql.SESSION_QUERY, { id: candidate.sessionId }, candidate.visitorToken));
    } catch (error) {
      const widgetError = toWidgetError(error);
      // A refused token (expired early, revoked) is a reason to start again; an outage is not.
      if (!isRefusal(widgetError)) throw widgetError;
      failure = widgetError;
    }
    if (session && !FINAL_STATUSES.includes(session.sessionStatus)) {
      // Resumed: the page's current values win over those the session holds.
      const values = options.sessionVariableValues;
      if (values && values.length > 0) await http.request(gql.SET_SESSION_VARIABLES, { sessionId: session.sessionId, values }, candidate.visitorToken);
      return { session: { ...candidate, visitorId: session.visitorId, channelId: session.channelId }, resumed: true };
    }
    if (!failure)
      failure = new WidgetError(`Session ${candidate.sessionId} is ${session?.sessionStatus ?? 'gone'}`, {
        code: 'SESSION_ENDED',
        details: { sessionId: candidate.sessionId, sessionStatus: session?.sessionStatus ?? null },
      });
  } else if (candidate) {
    failure = new WidgetError(`The visitor token of session ${candidate.sessionId} has expired`, { code: 'UNAUTHENTICATED', details: { sessionId: candidate.sessionId } });
  }

  const { widgetKey, channelId } = options;
  if (widgetKey === undefined || channelId === undefined) throw failure ?? invalid('A widgetKey is needed to start a session');
  const start = async (visitorToken: string | undefined): Promise<StoredSession> => {
    const { startSession } = await http.request<{ startSession: StartSessionPayload }>(
      gql.START_SESSION,
      { channelId, brandId: options.brandId, sessionVariableValues: options.sessionVariableValues, visitorToken },
      widgetKey,
    );
    const { sessionId, visitorId, visitorToken: token, visitorTokenExpiresAt } = startSession;
    return { sessionId, visitorId, visitorToken: token, visitorTokenExpiresAt, channelId };
  };
  if (!candidate) return { session: await start(undefined), resumed: false };
  try {
    // The same visitor as before, proven by its earlier token (expired tokens prove it for 30 days).
    return { session: await start(candidate.visitorToken), resumed: false };
  } catch (error) {
    const widgetError = toWidgetError(error);
    if (!isRefusal(widgetError)) throw widgetError;
    return { session: await start(undefined), resumed: false };
  }
}

type Listener<K extends keyof WidgetEvents> = (event: WidgetEvents[K]) => void;
type LiveKind = 'statusChanged' | 'variablesChanged';

class WidgetSession implements Widget {
  readonly resumed: boolean;
  authentication: Authentication | undefined;
  readonly visitor: WidgetVisitor;
  private session: StoredSession;
  private closed = false;
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;
  private live: LiveSubscriptions | undefined;
  private readonly listeners: { [K in keyof WidgetEvents]: Set<Listener<K>> } = {
    statusChanged: new Set(),
    variablesChanged: new Set(),
    error: new Set(),
  };
  private readonly unsubscribe: Partial<Record<LiveKind, () => void>> = {};

  constructor(
    private readonly config: Config,
    session: StoredSession,
    resumed: boolean,
    private readonly store: SessionStore | undefined,
  ) {
    this.session = session;
    this.resumed = resumed;
    this.visitor = {
      submit: (data, signing, replaceExisting, rooms) => this.submitVisitorVariables(data, signing, replaceExisting, rooms),
      get: async (room) => {
        const { visitor } = await this.request<{ visitor: Visitor | null }>(gql.VISITOR_QUERY, { id: this.session.visitorId, room });
        if (!visitor) throw new WidgetError(`Visitor ${this.session.visitorId} not found`, { code: 'NOT_FOUND' });
        return visitor;
      },
    };
  }

  get sessionId(): string {
    return this.session.sessionId;
  }

  get visitorId(): string {
    return this.session.visitorId;
  }

  get channelId(): string {
    return this.session.channelId;
  }

  async triggerEvent(event: 'setVariable', payload: SetVariablePayload): Promise<Variable[]> {
    if (event !== 'setVariable') throw invalid(`Unknown event ${String(event)}: the widget knows 'setVariable'`);
    if (!payload || !Array.isArray(payload.sessionVariableValues)) throw invalid('setVariable needs { sessionVariableValues: [{ name, value }] }');
    const { setSessionVariables } = await this.request<{ setSessionVariables: Variable[] }>(gql.SET_SESSION_VARIABLES, {
      sessionId: this.sessionId,
      values: payload.sessionVariableValues,
    });
    return setSessionVariables;
  }

  async authenticate(identityToken: string): Promise<Authentication> {
    return this.signIn(identityToken);
  }

  /** authenticate, and keep the outcome as `authentication`. */
  async signIn(identityToken: string): Promise<Authentication> {
    const { authenticate } = await this.request<{ authenticate: Authentication }>(gql.AUTHENTICATE, { sessionId: this.sessionId, token: identityToken });
    this.authentication = authenticate;
    return authenticate;
  }

  async getVariables(room?: string): Promise<Variable[]> {
    const { sessionVariables } = await this.request<{ sessionVariables: Variable[] }>(gql.SESSION_VARIABLES, { sessionId: this.sessionId, room });
    return sessionVariables;
  }

  async getSession(): Promise<Session> {
    const { session } = await this.request<{ session: Session | null }>(gql.SESSION_QUERY, { id: this.sessionId });
    if (!session) throw new WidgetError(`Session ${this.sessionId} not found`, { code: 'NOT_FOUND', details: { sessionId: this.sessionId } });
    return session;
  }

  on<K extends keyof WidgetEvents>(event: K, listener: Listener<K>): () => void {
    this.assertOpen();
    const listeners = this.listeners[event] as Set<Listener<K>> | undefined;
    if (!listeners) throw invalid(`Unknown event ${String(event)}: statusChanged, variablesChanged or error`);
    listeners.add(listener);
    if (event !== 'error') {
      try {
        this.openLive(event as LiveKind);
      } catch (error) {
        listeners.delete(listener);
        throw error;
      }
    }
    return () => {
      if (!listeners.delete(listener) || event === 'error' || listeners.size > 0) return;
      const kind = event as LiveKind;
      const unsubscribe = this.unsubscribe[kind];
      delete this.unsubscribe[kind];
      unsubscribe?.();
    };
  }

  async logout(): Promise<void> {
    this.assertOpen();
    let failure: WidgetError | undefined;
    try {
      await this.request(gql.END_SESSION, { sessionId: this.sessionId, reason: 'logout' });
    } catch (error) {
      const widgetError = toWidgetError(error);
      // Already ended (or gone): what logout wanted.
      if (widgetError.code !== 'CONFLICT' && widgetError.code !== 'NOT_FOUND') failure = widgetError;
    } finally {
      this.store?.clear();
      this.close();
      this.session = { ...this.session, visitorToken: '' };
    }
    if (failure) throw failure;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.refreshTimer);
    this.refreshTimer = undefined;
    for (const kind of ['statusChanged', 'variablesChanged'] as const) {
      const unsubscribe = this.unsubscribe[kind];
      delete this.unsubscribe[kind];
      unsubscribe?.();
    }
    this.live?.dispose();
    this.live = undefined;
    for (const set of Object.values(this.listeners)) set.clear();
  }

  // ── the visitor token ────────────────────────────────────────────────────────────────────

  /** Schedules the next refresh at 2/3 of the token's remaining lifetime. */
  startRefreshing(): void {
    const remaining = Date.parse(this.session.visitorTokenExpiresAt) - Date.now();
    this.schedule(remaining * REFRESH_AT);
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.refreshTimer);
    if (this.closed) return;
    const timer = setTimeout(() => void this.refresh(), Math.min(MAX_TIMER_MS, Math.max(MIN_REFRESH_DELAY_MS, delayMs)));
    // On Node, a pending refresh must not keep the process alive (a browser's timer is a number).
    const handle = timer as unknown as { unref?: () => void } | number;
    if (typeof handle === 'object') handle.unref?.();
    this.refreshTimer = timer;
  }

  private async refresh(): Promise<void> {
    this.refreshTimer = undefined;
    if (this.closed) return;
    try {
      const { refreshVisitorToken } = await this.config.http.request<{ refreshVisitorToken: { visitorToken: string; visitorTokenExpiresAt: string } }>(
        gql.REFRESH_VISITOR_TOKEN,
        { sessionId: this.sessionId },
        this.session.visitorToken,
      );
      // A logout or close while the refresh was under way: nothing may be stored again.
      if (this.closed) return;
      this.session = { ...this.session, visitorToken: refreshVisitorToken.visitorToken, visitorTokenExpiresAt: refreshVisitorToken.visitorTokenExpiresAt };
      this.store?.save(this.session);
      this.startRefreshing();
    } catch (error) {
      if (this.closed) return;
      const widgetError = toWidgetError(error);
      this.emit('error', widgetError);
      // An outage: try again while the token still holds. A refusal (the session ended: CONFLICT;
      // the token lapsed: UNAUTHENTICATED) will not pass by trying again.
      const remaining = Date.parse(this.session.visitorTokenExpiresAt) - Date.now();
      if (isTransient(widgetError) && remaining > EXPIRY_MARGIN_MS) this.schedule(Math.min(MAX_REFRESH_RETRY_MS, remaining / 2));
    }
  }

  // ── live events ──────────────────────────────────────────────────────────────────────────

  private openLive(kind: LiveKind): void {
    if (this.unsubscribe[kind]) return;
    this.live ??= new LiveSubscriptions(this.config.wsUrl, () => this.session.visitorToken, this.config.options.webSocketImpl);
    const variables = { sessionId: this.sessionId };
    let fellBehind = false;
    const onError = (error: WidgetError) => {
      if (error.code === 'LIMIT_EXCEEDED' && (error.details as { limit?: unknown } | undefined)?.limit === 'subscriptionQueue') fellBehind = true;
      this.emit('error', error);
    };
    // When the subscription ends (a fatal close, the server completing it), the next on() opens it again.
    // (graphql-ws never ends a subscription synchronously inside subscribe(), so `unsubscribe` is set by then.)
    // One the gateway ended because this page fell behind is opened again at once: its first event
    // (includeCurrent) is the state as it is now, so the listeners miss nothing they cannot see.
    const onEnd = () => {
      if (this.unsubscribe[kind] !== unsubscribe) return;
      delete this.unsubscribe[kind];
      if (fellBehind && !this.closed && this.listeners[kind].size > 0) this.openLive(kind);
    };
    const unsubscribe =
      kind === 'statusChanged'
        ? this.live.subscribe<{ sessionStatusChanged: SessionStatusEvent }>(gql.SESSION_STATUS_CHANGED, variables, (data) => this.emit('statusChanged', data.sessionStatusChanged), onError, onEnd)
        : this.live.subscribe<{ variablesChanged: VariablesChangedEvent }>(gql.VARIABLES_CHANGED, variables, (data) => this.emit('variablesChanged', data.variablesChanged), onError, onEnd);
    this.unsubscribe[kind] = unsubscribe;
  }

  private emit<K extends keyof WidgetEvents>(event: K, payload: WidgetEvents[K]): void {
    const listeners = [...(this.listeners[event] as Set<Listener<K>>)];
    if (event === 'error' && listeners.length === 0) {
      console.error('[svp widget]', payload);
      return;
    }
    for (const listener of listeners) {
      try {
        listener(payload);
      } catch (error) {
        // The page's listener failed: its own bug, reported as the browser reports a failing event handler.
        console.error('[svp widget] a listener of', event, 'threw', error);
      }
    }
  }

  // ── calls ────────────────────────────────────────────────────────────────────────────────

  private async request<T>(query: string, variables: Record<string, unknown>): Promise<T> {
    this.assertOpen();
    return this.config.http.request<T>(query, variables, this.session.visitorToken);
  }

  private assertOpen(): void {
    if (this.closed) throw new WidgetError('The widget is closed: call init again', { code: 'CLOSED' });
  }

  private async submitVisitorVariables(
    data: VisitorData | string | null | undefined,
    signing: string = 'plain',
    replaceExisting = false,
    rooms?: readonly (RoomInput | string)[],
  ): Promise<Visitor> {
    const submission = submissionOf(data, signing);
    const { submitVisitorVariables } = await this.request<{ submitVisitorVariables: Visitor }>(gql.SUBMIT_VISITOR_VARIABLES, {
      visitorId: this.visitorId,
      ...submission,
      replaceExisting,
      rooms: rooms?.map(roomOf),
    });
    return submitVisitorVariables;
  }
}

/**
 * What `submit(data, signing)` sends: plain data, or a signed JWT as `token` with the algorithm of
 * its header (giosg). The variables service refuses data next to a token, so data must be empty then.
 */
export function submissionOf(
  data: VisitorData | string | null | undefined,
  signing: string,
): { signing: 'plain'; data: VisitorData } | { signing: SigningAlg; token: string } {
  if (signing === 'plain') {
    if (typeof data !== 'object' || data === null || Array.isArray(data)) throw invalid('Plain visitor data is an object of names to values');
    return { signing: 'plain', data };
  }
  // giosg's own order: submit('<JWT>', 'HS256').
  if (isSigningAlg(signing) && typeof data === 'string') {
    const alg = decodeJwt(data)?.header.alg;
    if (alg !== signing) throw invalid(`The JWT's header says alg ${String(alg)}, not ${signing}`);
    return { signing, token: data };
  }
  const header = decodeJwt(signing)?.header;
  if (!header) throw invalid(`signing is 'plain' or a signed JWT (got ${signing.length > 16 ? `${signing.slice(0, 16)}…` : signing})`);
  if (!isSigningAlg(header.alg))
    throw invalid(`The JWT's alg ${String(header.alg)} is not one a signing key can have (${SIGNING_ALGS.join(', ')})`);
  if (data !== null && data !== undefined && !(typeof data === 'object' && Object.keys(data).length === 0))
    throw invalid('With a signed JWT the data are its claims: pass null as data');
  return { signing: header.alg, token: signing };
}

function roomOf(room: RoomInput | string): RoomInput {
  if (typeof room === 'string') return { name: room };
  if ('id' in room && typeof room.id === 'string' && !('name' in room)) return { id: room.id };
  if ('name' in room && typeof room.name === 'string' && !('id' in room)) return { name: room.name };
  throw invalid('A room is { id } or { name } (or a name as a string)');
}
