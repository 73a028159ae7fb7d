import { setTimeout as sleep } from 'node:timers/promises';
import {
  OpaqueId,
  type SessionView,
  type StartSessionResponse,
  type VariableHistoryResponse,
  type VariableView,
  type VariablesResponse,
  type VerifyIdentityResponse,
  type VisitorResponse,
  type VisitorTokenResponse,
} from '@svp/contracts';
import { makeExecutableSchema } from '@graphql-tools/schema';
import type { AuthContext } from '@svp/service-kit';
import type { GraphQLSchema } from 'graphql';
import type { Logger } from 'pino';
import { changeVisible } from './freshness.js';
import { type LiveEvent, type LiveHub, type StatusChange, type VariablesChange, liveKey } from './live-hub.js';
import { Loaders } from './loaders.js';
import { DateTimeScalar, JSONObjectScalar, VariableValueScalar } from './scalars.js';
import { typeDefs } from './schema.js';
import { type ServiceClient, gatewayError } from './service-client.js';

/** What every resolver of one operation shares: who calls, with which credential, and its loaders. */
export interface GatewayContext {
  auth: AuthContext;
  client: ServiceClient;
  loaders: Loaders;
  hub: LiveHub;
  logger: Logger;
  /** How long a subscription event waits for the variables read to show its change. */
  freshnessTimeoutMs?: number;
}

/** A session as resolvers pass it on: the service's view, and the loaders to resolve its fields with. */
type SessionParent = SessionView & {
  id: string;
  loaders?: Loaders;
  /** A session just started: its initial variables, stored once SessionStarted reaches the variables service, are waited for. */
  initialNames?: readonly string[];
};
type VisitorParent = VisitorResponse & { id: string; loaders?: Loaders };

const asSession = (view: SessionView, loaders?: Loaders): SessionParent => ({ ...view, id: view.sessionId, ...(loaders ? { loaders } : {}) });
const asVisitor = (view: VisitorResponse, loaders?: Loaders): VisitorParent => ({ ...view, id: view.visitorId, ...(loaders ? { loaders } : {}) });

const enc = encodeURIComponent;
/** The visitor variable that is the display name (giosg's `username`; the variables domain's DISPLAY_NAME_VARIABLE). */
const DISPLAY_NAME = 'username';

/**
 * The ids an operation names, checked before any call: each a valid id (a bad one fails its own field,
 * not a whole batch of others), and for a visitor token its own session and visitor only.
 */
function reach(ctx: GatewayContext, target: { sessionId?: string; visitorId?: string }, argumentName?: string): void {
  for (const [key, value] of Object.entries(target)) {
    const argument = argumentName ?? key;
    if (value !== undefined && !OpaqueId.safeParse(value).success)
      throw gatewayError('VALIDATION_FAILED', `${argument} is not a valid id (1 to 128 letters, digits, _ and -)`, 400, { issues: [{ path: [argument], message: 'not a valid id' }] });
  }
  const own = ctx.auth.visitor;
  if (!own) return;
  if ((target.sessionId !== undefined && target.sessionId !== own.sessionId) || (target.visitorId !== undefined && target.visitorId !== own.visitorId))
    throw gatewayError('FORBIDDEN', 'A visitor token reaches only its own session and visitor', 403, { visitorToken: true });
}

async function sessionOrNotFound(ctx: GatewayContext, sessionId: string): Promise<SessionView> {
  const session = await ctx.loaders.sessions.load(sessionId);
  if (!session) throw gatewayError('NOT_FOUND', `Session ${sessionId} not found`, 404, { sessionId }, 'sessions');
  return session;
}

function metadataOf(variables: readonly VariableView[]) {
  const value = (name: string) => variables.find((v) => v.scope === 'metadata' && v.name === name)?.value ?? null;
  const text = (name: string) => {
    const v = value(name);
    return v === null ? null : String(v);
  };
  return {
    providedName: text('providedName'),
    providedEmail: text('providedEmail'),
    authenticatedExternalId: text('authenticatedExternalId'),
    // Always true or false, never empty (Zendesk's Authenticated status).
    authenticatedStatus: value('authenticatedStatus') === true,
  };
}

/** Reads the session's variables until they show the change (or the wait is over: then the latest read). */
async function variablesShowing(ctx: GatewayContext, sessionId: string, change: VariablesChange): Promise<VariableView[]> {
  const deadline = Date.now() + (ctx.freshnessTimeoutMs ?? 3000);
  let delay = 25;
  for (;;) {
    const { variables } = await ctx.client.call<VariablesResponse>('variables', {
      method: 'GET',
      route: '/v1/sessions/{sessionId}/variables',
      path: `/v1/sessions/${enc(sessionId)}/variables`,
    });
    if (changeVisible(change, variables) || Date.now() >= deadline) return variables;
    await sleep(delay);
    delay = Math.min(delay * 2, 200);
  }
}

/**
 * A new session's variables once its initial values are there: the sessions service answers at
 * once and the variables service stores them when SessionStarted reaches it (within a second).
 */
async function initialVariables(ctx: GatewayContext, loaders: Loaders, sessionId: string, names: readonly string[], room?: string): Promise<VariableView[]> {
  const deadline = Date.now() + (ctx.freshnessTimeoutMs ?? 3000);
  const shown = (variables: readonly VariableView[]) => names.every((name) => variables.some((v) => v.scope === 'session' && v.name === name));
  let variables = await loaders.sessionVariables(room).load(sessionId);
  let delay = 25;
  while (!shown(variables) && Date.now() < deadline) {
    await sleep(delay);
    delay = Math.min(delay * 2, 200);
    // Reads again of the same field: not more fields, so not counted against the operation's budget.
    ({ variables } = await loaders.client.call<VariablesResponse>('variables', {
      method: 'GET',
      route: '/v1/sessions/{sessionId}/variables',
      path: `/v1/sessions/${enc(sessionId)}/variables`,
      query: { room },
      again: true,
    }));
  }
  return variables;
}

type Args<T> = T;

interface StartSessionArgs {
  channelId: string;
  visitorId?: string | null;
  brandId?: string | null;
  sessionVariableValues?: { name: string; value: unknown }[] | null;
  visitorToken?: string | null;
}

interface SubmitArgs {
  visitorId: string;
  data?: Record<string, unknown> | null;
  signing: string;
  token?: string | null;
  replaceExisting: boolean;
  rooms?: { id?: string | null; name?: string | null }[] | null;
}

interface SessionEventArgs {
  sessionId: string;
  type: string;
  assigneeId?: string | null;
  assigneeType?: string | null;
  from?: string | null;
  actorId?: string | null;
  online?: boolean | null;
}

/** Drops null and undefined members (GraphQL's absent arguments) so the services see only what was given. */
function defined<T extends Record<string, unknown>>(object: T): Partial<{ [K in keyof T]: NonNullable<T[K]> }> {
  return Object.fromEntries(Object.entries(object).filter(([, v]) => v !== null && v !== undefined)) as Partial<{ [K in keyof T]: NonNullable<T[K]> }>;
}

async function applySessionEvent(ctx: GatewayContext, sessionId: string, body: Record<string, unknown>): Promise<SessionParent> {
  reach(ctx, { sessionId });
  const view = await ctx.client.call<SessionView>('sessions', { method: 'POST', route: '/v1/sessions/{sessionId}/events', path: `/v1/sessions/${enc(sessionId)}/events`, body });
  ctx.loaders.forgetSession(sessionId);
  ctx.loaders.sessions.prime(sessionId, view);
  return asSession(view);
}

export const resolvers = {
  VariableValue: VariableValueScalar,
  JSONObject: JSONObjectScalar,
  DateTime: DateTimeScalar,

  Query: {
    session: async (_: unknown, args: Args<{ id: string }>, ctx: GatewayContext) => {
      reach(ctx, { sessionId: args.id }, 'id');
      const view = await ctx.loaders.sessions.load(args.id);
      return view ? asSession(view) : null;
    },
    visitor: async (_: unknown, args: Args<{ id: string; room?: string | null }>, ctx: GatewayContext) => {
      reach(ctx, { visitorId: args.id }, 'id');
      return asVisitor(await ctx.loaders.visitors(args.room ?? undefined).load(args.id));
    },
    sessionVariables: async (_: unknown, args: Args<{ sessionId: string; room?: string | null; asOf?: string | null }>, ctx: GatewayContext) => {
      reach(ctx, { sessionId: args.sessionId });
      if (!args.asOf) return ctx.loaders.sessionVariables(args.room ?? undefined).load(args.sessionId);
      const answer = await ctx.client.call<VariablesResponse>('variables', {
        method: 'GET',
        route: '/v1/sessions/{sessionId}/variables',
        path: `/v1/sessions/${enc(args.sessionId)}/variables`,
        query: { asOf: args.asOf, room: args.room ?? undefined },
      });
      return answer.variables;
    },
    variableHistory: async (_: unknown, args: Args<{ sessionId: string; name: string }>, ctx: GatewayContext) => {
      reach(ctx, { sessionId: args.sessionId });
      return ctx.client.call<VariableHistoryResponse>('variables', {
        method: 'GET',
        route: '/v1/sessions/{sessionId}/variables/{name}/history',
        path: `/v1/sessions/${enc(args.sessionId)}/variables/${enc(args.name)}/history`,
      });
    },
  },

  Session: {
    variables: async (parent: SessionParent, args: Args<{ room?: string | null }>, ctx: GatewayContext) => {
      const loaders = parent.loaders ?? ctx.loaders;
      if (!parent.initialNames?.length) return loaders.sessionVariables(args.room ?? undefined).load(parent.sessionId);
      return initialVariables(ctx, loaders, parent.sessionId, parent.initialNames, args.room ?? undefined);
    },
    metadata: async (parent: SessionParent, _: unknown, ctx: GatewayContext) => metadataOf(await (parent.loaders ?? ctx.loaders).sessionVariables().load(parent.sessionId)),
    visitor: async (parent: SessionParent, _: unknown, ctx: GatewayContext) => {
      const loaders = parent.loaders ?? ctx.loaders;
      return asVisitor(await loaders.visitors().load(parent.visitorId), parent.loaders);
    },
  },

  Visitor: {
    variables: async (parent: VisitorParent, args: Args<{ room?: string | null }>, ctx: GatewayContext) =>
      args.room ? (await (parent.loaders ?? ctx.loaders).visitors(args.room).load(parent.visitorId)).variables : parent.variables,
  },

  StartSessionPayload: {
    // The new session is read with its own visitor token: a widget key may start sessions but read nothing.
    session: async (parent: StartSessionResponse & { loaders: Loaders; sessionVariableValues?: readonly { name: string }[] }) => {
      const view = await parent.loaders.sessions.load(parent.sessionId);
      if (!view) throw gatewayError('NOT_FOUND', `Session ${parent.sessionId} not found`, 404, { sessionId: parent.sessionId }, 'sessions');
      const names = parent.sessionVariableValues?.map((v) => v.name) ?? [];
      return { ...asSession(view, parent.loaders), ...(names.length ? { initialNames: names } : {}) };
    },
  },

  Authentication: {
    session: async (parent: VerifyIdentityResponse & { sessionId: string }, _: unknown, ctx: GatewayContext) => {
      const view = await ctx.loaders.sessions.load(parent.sessionId);
      return view ? asSession(view) : null;
    },
  },

  Mutation: {
    startSession: async (_: unknown, args: Args<StartSessionArgs>, ctx: GatewayContext) => {
      const answer = await ctx.client.call<StartSessionResponse>('sessions', { method: 'POST', route: '/v1/sessions', path: '/v1/sessions', body: defined({ ...args }) });
      return {
        ...answer,
        loaders: new Loaders(ctx.client.as(answer.visitorToken), true),
        ...(args.sessionVariableValues ? { sessionVariableValues: args.sessionVariableValues } : {}),
      };
    },
    setSessionVariables: async (_: unknown, args: Args<{ sessionId: string; values: { name: string; value: unknown }[] }>, ctx: GatewayContext) => {
      reach(ctx, { sessionId: args.sessionId });
      const answer = await ctx.client.call<VariablesResponse>('variables', {
        method: 'PUT',
        route: '/v1/sessions/{sessionId}/variables',
        path: `/v1/sessions/${enc(args.sessionId)}/variables`,
        body: { sessionVariableValues: args.values },
      });
      ctx.loaders.forgetSession(args.sessionId);
      return answer.variables;
    },
    submitVisitorVariables: async (_: unknown, args: Args<SubmitArgs>, ctx: GatewayContext) => {
      reach(ctx, { visitorId: args.visitorId });
      const rooms = args.rooms?.map((room, index) => {
        const given = defined(room);
        if (Object.keys(given).length !== 1)
          throw gatewayError('VALIDATION_FAILED', `rooms[${index}]: give exactly one of id and name`, 400, { issues: [{ path: ['rooms', index], message: 'give exactly one of id and name' }] });
        return given;
      });
      const answer = await ctx.client.call<VisitorResponse>('variables', {
        method: 'POST',
        route: '/v1/visitors/{visitorId}/variables',
        path: `/v1/visitors/${enc(args.visitorId)}/variables`,
        body: defined({ data: args.data, token: args.token, signing: args.signing, replaceExisting: args.replaceExisting, rooms }),
      });
      ctx.loaders.forgetVisitor(args.visitorId);
      return asVisitor(answer);
    },
    authenticate: async (_: unknown, args: Args<{ sessionId: string; token: string }>, ctx: GatewayContext) => {
      reach(ctx, { sessionId: args.sessionId });
      const answer = await ctx.client.call<VerifyIdentityResponse>('identity', {
        method: 'POST',
        route: '/v1/identity/verify',
        path: '/v1/identity/verify',
        body: { token: args.token, sessionId: args.sessionId },
      });
      ctx.loaders.forgetSession(args.sessionId);
      return { ...answer, sessionId: args.sessionId };
    },
    endSession: (_: unknown, args: Args<{ sessionId: string; reason: string }>, ctx: GatewayContext) =>
      applySessionEvent(ctx, args.sessionId, { type: 'END', reason: args.reason }),
    recordSessionEvent: (_: unknown, args: Args<SessionEventArgs>, ctx: GatewayContext) => {
      const { sessionId, ...event } = args;
      return applySessionEvent(ctx, sessionId, defined(event));
    },
    refreshVisitorToken: async (_: unknown, args: Args<{ sessionId: string }>, ctx: GatewayContext) => {
      reach(ctx, { sessionId: args.sessionId });
      return ctx.client.call<VisitorTokenResponse>('sessions', {
        method: 'POST',
        route: '/v1/sessions/{sessionId}/visitor-token',
        path: `/v1/sessions/${enc(args.sessionId)}/visitor-token`,
      });
    },
  },

  Subscription: {
    sessionStatusChanged: {
      subscribe: async (_: unknown, args: Args<{ sessionId: string; includeCurrent?: boolean | null }>, ctx: GatewayContext) => {
        reach(ctx, { sessionId: args.sessionId });
        // The session must be the caller's org's (and readable with its credential) before anything is streamed.
        await sessionOrNotFound(ctx, args.sessionId);
        // Listening before the current state is read, and the hub's recent events taken at that
        // moment: what the read does not show yet is replayed after it (see statusReplay).
        const keys = [liveKey.status(ctx.auth.orgId, args.sessionId)];
        const changes = ctx.hub.subscribe(keys);
        const recent = statusChanges(ctx.hub.recentOf(keys));
        const current = args.includeCurrent
          ? async () => {
              ctx.loaders.sessions.clear(args.sessionId);
              const state = currentStatus(await sessionOrNotFound(ctx, args.sessionId));
              return [state, ...statusReplay(state, recent)];
            }
          : undefined;
        return startingWith(current, changes, (event) => (event.topic === 'status' ? event.change : undefined), (change) => ({ sessionStatusChanged: change }), 'sessionStatusChanged');
      },
    },
    variablesChanged: {
      subscribe: async (_: unknown, args: Args<{ sessionId: string; includeCurrent?: boolean | null }>, ctx: GatewayContext) => {
        reach(ctx, { sessionId: args.sessionId });
        // The events carry values: the same scope as reading them (the session lookup checks only sessions:read).
        if (!ctx.auth.scopes.includes('variables:read'))
          throw gatewayError('FORBIDDEN', 'variablesChanged streams variable values: the key lacks the scope variables:read', 403, { missing: ['variables:read'] });
        const session = await sessionOrNotFound(ctx, args.sessionId);
        const keys = [liveKey.sessionVariables(ctx.auth.orgId, args.sessionId), liveKey.visitorVariables(ctx.auth.orgId, session.visitorId)];
        const changes = ctx.hub.subscribe(keys);
        const recent = variablesChanges(ctx.hub.recentOf(keys)).flatMap((change) => withoutRoomData(change) ?? []);
        const current = args.includeCurrent
          ? async (): Promise<(VariablesChange & { read?: VariableView[] })[]> => {
              const { variables } = await ctx.client.call<VariablesResponse>('variables', {
                method: 'GET',
                route: '/v1/sessions/{sessionId}/variables',
                path: `/v1/sessions/${enc(args.sessionId)}/variables`,
              });
              // The recent changes this read does not show yet follow it (each then read until it shows).
              const pending = recent.filter((change) => !changeVisible(change, variables));
              return [{ eventId: null, kind: 'CURRENT', occurredAt: new Date().toISOString(), changes: [], removed: [], read: variables }, ...pending];
            }
          : undefined;
        return startingWith(
          current,
          changes,
          (event) => (event.topic === 'variables' ? withoutRoomData(event.change) : undefined),
          (change) => ({ variablesChanged: { ...change, sessionId: args.sessionId } }),
          'variablesChanged',
        );
      },
    },
  },

  VariablesChangedEvent: {
    variables: (parent: VariablesChange & { sessionId: string; read?: VariableView[] }, _: unknown, ctx: GatewayContext) =>
      parent.read ?? variablesShowing(ctx, parent.sessionId, parent),
    changes: (parent: VariablesChange) => parent.changes.map(({ rooms: _rooms, ...change }) => change),
  },
};

/** A session's current state in the shape of a status change (a subscription's first event with includeCurrent). */
function currentStatus(view: SessionView): StatusChange {
  return {
    eventId: null,
    sessionId: view.sessionId,
    orgId: view.orgId,
    sessionStatus: view.sessionStatus,
    sessionOldStatus: view.sessionOldStatus,
    replyStatus: view.replyStatus,
    currentAssigneeId: view.currentAssigneeId,
    assigneeType: view.assigneeType,
    messagesCount: view.messagesCount,
    channelId: view.channelId,
    eventTime: view.lastActivityAt ?? view.startedAt,
    eventType: 'IM_Session_Status',
  };
}

/**
 * A visitor change as a subscriber that named no room may see it: data limited to rooms is left out
 * (as the reads leave it out); undefined when nothing is left to tell. Pure.
 */
export function withoutRoomData(change: VariablesChange): VariablesChange | undefined {
  if (change.kind !== 'VISITOR_CHANGED') return change;
  const limited = (c: VariablesChange['changes'][number]) => c.rooms !== undefined && c.rooms.length > 0;
  const changes = change.changes.filter((c) => !limited(c));
  // The display name is the username's: one limited to rooms names the visitor in those rooms only.
  const { displayName, ...rest } = change;
  const nameLimited = change.changes.some((c) => c.name === DISPLAY_NAME && limited(c));
  const shown = displayName !== undefined && !nameLimited ? { displayName } : {};
  if (changes.length === 0 && change.removed.length === 0 && shown.displayName === undefined) return undefined;
  return { ...rest, changes, ...shown };
}

const statusChanges = (events: readonly LiveEvent[]): StatusChange[] => events.flatMap((e) => (e.topic === 'status' ? [e.change] : []));
const variablesChanges = (events: readonly LiveEvent[]): VariablesChange[] => events.flatMap((e) => (e.topic === 'variables' ? [e.change] : []));

/**
 * Which of the hub's recent status changes come after the current state just read: those after the
 * last one that the read shows (all of them when it shows none: the read model is behind them). Pure.
 */
export function statusReplay(current: StatusChange, recent: readonly StatusChange[]): StatusChange[] {
  const same = (change: StatusChange) =>
    change.sessionStatus === current.sessionStatus &&
    change.sessionOldStatus === current.sessionOldStatus &&
    change.replyStatus === current.replyStatus &&
    change.currentAssigneeId === current.currentAssigneeId &&
    change.messagesCount === current.messagesCount;
  let last = -1;
  recent.forEach((change, index) => {
    if (same(change)) last = index;
  });
  return recent.slice(last + 1);
}

/**
 * The subscription's stream: `first()` (the current state and what it does not show yet) when given, then the hub's events that
 * `pick` keeps, each wrapped by `wrap` as the payload. Returning it ends the hub subscription.
 */
function startingWith<C>(
  first: (() => Promise<C[]>) | undefined,
  source: AsyncIterableIterator<LiveEvent>,
  pick: (value: LiveEvent) => C | undefined,
  wrap: (change: C) => unknown,
  field: string,
): AsyncIterableIterator<unknown> {
  let pending = first;
  const leading: C[] = [];
  const mapped = mapIterator(source, (value) => {
    // The subscriber fell behind: its last event is an error (the field is null), then it completes.
    if (value.topic === 'overflow')
      return {
        [field]: gatewayError('LIMIT_EXCEEDED', `This subscription fell ${value.dropped} events behind and ended: subscribe again (with includeCurrent) to get the state`, 429, {
          limit: 'subscriptionQueue',
          dropped: value.dropped,
        }),
      };
    const change = pick(value);
    return change === undefined ? undefined : wrap(change);
  });
  const iterator: AsyncIterableIterator<unknown> = {
    async next() {
      if (pending) {
        const load = pending;
        pending = undefined;
        try {
          leading.push(...(await load()));
        } catch (error) {
          await mapped.return?.();
          throw error;
        }
      }
      const next = leading.shift();
      if (next !== undefined) return { value: wrap(next), done: false };
      return mapped.next();
    },
    return: async () => {
      await mapped.return?.();
      return { value: undefined, done: true };
    },
    throw: async (error?: unknown) => {
      await mapped.return?.();
      throw error;
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}

/** An async iterator of the mapped values (undefined ones skipped); returning it returns the source. */
function mapIterator<T, U>(source: AsyncIterableIterator<T>, map: (value: T) => U | undefined): AsyncIterableIterator<U> {
  const iterator: AsyncIterableIterator<U> = {
    async next() {
      for (;;) {
        const next = await source.next();
        if (next.done) return { value: undefined, done: true };
        const mapped = map(next.value);
        if (mapped !== undefined) return { value: mapped, done: false };
      }
    },
    async return() {
      await source.return?.();
      return { value: undefined, done: true };
    },
    async throw(error?: unknown) {
      await source.return?.();
      throw error;
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}

export function buildSchema(): GraphQLSchema {
  return makeExecutableSchema({ typeDefs, resolvers });
}
