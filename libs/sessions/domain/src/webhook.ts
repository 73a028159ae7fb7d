import { type Decision, accept, exhaustive, refuse } from './decision.js';

/**
 * A webhook subscription of an org (stream `webhook-<orgId>.<webhookId>`): where IM_Session_Status
 * events are delivered, in which format, with which (sealed) secret. ACTIVE subscriptions receive
 * deliveries; a receiver answering 410 Gone or failing for too long gets it DISABLED with a reason; an
 * admin can enable it again; DELETED is terminal. Pure decider: ids, time and the sealed secret (sealing
 * is the caller's I/O) come in the command; the target URL's safety is checked at the edge.
 */

export const WEBHOOK_EVENTS = ['IM_Session_Status'] as const;
export type WebhookEventName = (typeof WEBHOOK_EVENTS)[number];

/** `standard`: the IM_Session_Status body of DESIGN.md; `zoho`: Zoho Desk's own payload (an array, values as strings). */
export const WEBHOOK_FORMATS = ['standard', 'zoho'] as const;
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];

export interface WebhookFacts {
  orgId: string;
  webhookId: string;
  url: string;
  events: WebhookEventName[];
  format: WebhookFormat;
  /** The signing secret, sealed by the caller (opaque here). */
  secretSealed?: string;
  createdAt: string;
  updatedAt: string;
}

export type WebhookState =
  | { status: 'NONE' }
  | (WebhookFacts & { status: 'ACTIVE' })
  | (WebhookFacts & { status: 'DISABLED'; disabledReason: string; disabledAt: string })
  | (WebhookFacts & { status: 'DELETED'; deletedAt: string });

export const initialWebhookState = (): WebhookState => ({ status: 'NONE' });

interface WebhookRef {
  orgId: string;
  webhookId: string;
}

export type WebhookCommand =
  | { type: 'CreateWebhook'; data: WebhookRef & { url: string; events: WebhookEventName[]; format: WebhookFormat; secretSealed?: string; now: string } }
  /** `reason`: e.g. '410 Gone', 'failing since 2026-11-21T10:00:00Z'. */
  | { type: 'DisableWebhook'; data: WebhookRef & { reason: string; now: string } }
  | { type: 'EnableWebhook'; data: WebhookRef & { now: string } }
  | { type: 'DeleteWebhook'; data: WebhookRef & { now: string } };

export type WebhookEvent =
  | { type: 'WebhookCreated'; data: WebhookRef & { url: string; events: WebhookEventName[]; format: WebhookFormat; secretSealed?: string; at: string } }
  | { type: 'WebhookDisabled'; data: WebhookRef & { reason: string; at: string } }
  | { type: 'WebhookEnabled'; data: WebhookRef & { at: string } }
  | { type: 'WebhookDeleted'; data: WebhookRef & { at: string } };

export type WebhookDecision = Decision<WebhookEvent>;

export function decideWebhook(command: WebhookCommand, state: WebhookState): WebhookDecision {
  if (command.type === 'CreateWebhook') {
    const { orgId, webhookId, url, events, format, secretSealed, now } = command.data;
    const distinct = [...new Set(events)];
    if (distinct.length === 0 || distinct.some((e) => !(WEBHOOK_EVENTS as readonly string[]).includes(e)))
      return refuse('VALIDATION_FAILED', `A webhook subscribes to one or more of: ${WEBHOOK_EVENTS.join(', ')}`, { field: 'events', allowed: WEBHOOK_EVENTS });
    if (!(WEBHOOK_FORMATS as readonly string[]).includes(format))
      return refuse('VALIDATION_FAILED', `Unknown webhook format '${String(format)}'`, { field: 'format', allowed: WEBHOOK_FORMATS });
    if (url.trim() === '') return refuse('VALIDATION_FAILED', 'A webhook needs a URL', { field: 'url' });
    if (state.status !== 'NONE') {
      // A resent creation is no change (the sealed secret is not compared: sealing need not be
      // deterministic); anything else, or a deleted subscription, is a clash.
      const same = state.status !== 'DELETED' && state.url === url && state.format === format && sameSet(state.events, distinct);
      return same ? accept([]) : refuse('CONFLICT', `Webhook ${webhookId} exists (${state.status})`, { webhookId, status: state.status });
    }
    return accept([
      { type: 'WebhookCreated', data: { orgId, webhookId, url, events: distinct, format, ...(secretSealed !== undefined ? { secretSealed } : {}), at: now } },
    ]);
  }
  const { webhookId, now } = command.data;
  if (state.status === 'NONE') return refuse('NOT_FOUND', `Webhook ${webhookId} not found`, { webhookId });
  const base = { orgId: state.orgId, webhookId: state.webhookId, at: now };
  if (state.status === 'DELETED')
    return command.type === 'DeleteWebhook'
      ? accept([])
      : refuse('CONFLICT', `Webhook ${webhookId} is DELETED`, { webhookId, status: state.status });
  switch (command.type) {
    case 'DisableWebhook':
      if (command.data.reason.trim() === '') return refuse('VALIDATION_FAILED', 'Disabling a webhook needs a reason', { field: 'reason' });
      // Already disabled: the first reason stands.
      if (state.status === 'DISABLED') return accept([]);
      return accept([{ type: 'WebhookDisabled', data: { ...base, reason: command.data.reason } }]);
    case 'EnableWebhook':
      if (state.status === 'ACTIVE') return accept([]);
      return accept([{ type: 'WebhookEnabled', data: base }]);
    case 'DeleteWebhook':
      return accept([{ type: 'WebhookDeleted', data: base }]);
    default:
      return exhaustive(command);
  }
}

export function evolveWebhook(state: WebhookState, event: WebhookEvent): WebhookState {
  if (event.type === 'WebhookCreated') {
    const { orgId, webhookId, url, events, format, secretSealed, at } = event.data;
    return { status: 'ACTIVE', orgId, webhookId, url, events, format, ...(secretSealed !== undefined ? { secretSealed } : {}), createdAt: at, updatedAt: at };
  }
  if (state.status === 'NONE' || state.status === 'DELETED') return state;
  const facts = factsOf(state);
  switch (event.type) {
    case 'WebhookDisabled':
      return { ...facts, status: 'DISABLED', disabledReason: event.data.reason, disabledAt: event.data.at, updatedAt: event.data.at };
    case 'WebhookEnabled':
      return { ...facts, status: 'ACTIVE', updatedAt: event.data.at };
    case 'WebhookDeleted':
      return { ...facts, status: 'DELETED', deletedAt: event.data.at, updatedAt: event.data.at };
    default:
      return exhaustive(event);
  }
}

/** Whether deliveries go out to this subscription for this event. */
export const webhookReceives = (state: WebhookState, event: WebhookEventName): boolean => state.status === 'ACTIVE' && state.events.includes(event);

/** Webhook ids are the platform's own, but the stream carries the org id too, like every other stream here. */
export const webhookStream = (orgId: string, webhookId: string): string => `webhook-${orgId}.${webhookId}`;

export const WEBHOOK_EVENT_TYPES = ['WebhookCreated', 'WebhookDisabled', 'WebhookEnabled', 'WebhookDeleted'] as const satisfies readonly WebhookEvent['type'][];
// Compile-time check that every event of the union is registered above.
const _everyWebhookEventRegistered: Exclude<WebhookEvent['type'], (typeof WEBHOOK_EVENT_TYPES)[number]> extends never ? true : never = true;

function factsOf(state: WebhookFacts): WebhookFacts {
  const { orgId, webhookId, url, events, format, secretSealed, createdAt, updatedAt } = state;
  return { orgId, webhookId, url, events, format, ...(secretSealed !== undefined ? { secretSealed } : {}), createdAt, updatedAt };
}

const sameSet = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((x) => b.includes(x));
