import {
  WEBHOOK_EVENT_TYPES,
  type WebhookCommand,
  type WebhookDecision,
  type WebhookEvent,
  type WebhookFormat,
  type WebhookState,
  decideWebhook,
  evolveWebhook,
  initialWebhookState,
  webhookReceives,
  webhookStream,
} from './webhook.js';

// Given/when/then on the webhook subscription decider, one `describe` per state.

const ORG = 'org_1';
const WH = 'wh_1';
const T0 = '2026-11-21T10:00:00.000Z';
const NOW = '2026-11-21T11:00:00.000Z';
const URL = 'https://receiver.example.com/hooks';
const ref = { orgId: ORG, webhookId: WH };

const given = (...events: WebhookEvent[]): WebhookState => events.reduce(evolveWebhook, initialWebhookState());
const accepted = (...events: WebhookEvent[]): WebhookDecision => ({ ok: true, events });
const nothing: WebhookDecision = { ok: true, events: [] };

const created: WebhookEvent = { type: 'WebhookCreated', data: { ...ref, url: URL, events: ['IM_Session_Status'], format: 'standard', secretSealed: 'sealed:abc', at: T0 } };
const disabled = (reason: string): WebhookEvent => ({ type: 'WebhookDisabled', data: { ...ref, reason, at: T0 } });
const deleted: WebhookEvent = { type: 'WebhookDeleted', data: { ...ref, at: T0 } };

const create = (over: Partial<{ url: string; events: 'IM_Session_Status'[]; format: WebhookFormat; secretSealed: string }> = {}): WebhookCommand => ({
  type: 'CreateWebhook',
  data: { ...ref, url: URL, events: ['IM_Session_Status'], format: 'standard', secretSealed: 'sealed:abc', now: NOW, ...over },
});
const disable = (reason: string): WebhookCommand => ({ type: 'DisableWebhook', data: { ...ref, reason, now: NOW } });
const enable: WebhookCommand = { type: 'EnableWebhook', data: { ...ref, now: NOW } };
const remove: WebhookCommand = { type: 'DeleteWebhook', data: { ...ref, now: NOW } };

describe('webhook subscription decider', () => {
  it('registers every event type by an explicit name, and names the stream by org and webhook', () => {
    expect(WEBHOOK_EVENT_TYPES).toEqual(['WebhookCreated', 'WebhookDisabled', 'WebhookEnabled', 'WebhookDeleted']);
    expect(webhookStream(ORG, WH)).toBe('webhook-org_1.wh_1');
  });

  describe('given no webhook', () => {
    const state = initialWebhookState();

    it('when it is created, then WebhookCreated with the sealed secret', () => {
      expect(decideWebhook(create(), state)).toStrictEqual(
        accepted({ type: 'WebhookCreated', data: { ...ref, url: URL, events: ['IM_Session_Status'], format: 'standard', secretSealed: 'sealed:abc', at: NOW } }),
      );
    });

    it('when it is created in the zoho format without a secret, listing the event twice, then it is recorded once, without a secret', () => {
      const command = create({ format: 'zoho', events: ['IM_Session_Status', 'IM_Session_Status'] });
      if (command.type === 'CreateWebhook') delete command.data.secretSealed;
      expect(decideWebhook(command, state)).toStrictEqual(
        accepted({ type: 'WebhookCreated', data: { ...ref, url: URL, events: ['IM_Session_Status'], format: 'zoho', at: NOW } }),
      );
    });

    it.each<[string, WebhookCommand, string]>([
      ['no events', create({ events: [] }), 'events'],
      ['an unknown event', create({ events: ['IM_Other' as 'IM_Session_Status'] }), 'events'],
      ['an unknown format', create({ format: 'xml' as WebhookFormat }), 'format'],
      ['a blank URL', create({ url: ' ' }), 'url'],
    ])('when it is created with %s, then VALIDATION_FAILED names the field', (_what, command, field) => {
      expect(decideWebhook(command, state)).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED', details: { field } } });
    });

    it.each<[string, WebhookCommand]>([
      ['DisableWebhook', disable('410 Gone')],
      ['EnableWebhook', enable],
      ['DeleteWebhook', remove],
    ])('when %s is sent, then NOT_FOUND', (_type, command) => {
      expect(decideWebhook(command, state)).toStrictEqual({ ok: false, error: { code: 'NOT_FOUND', message: `Webhook ${WH} not found`, details: { webhookId: WH } } });
    });

    it('then it receives nothing', () => {
      expect(webhookReceives(state, 'IM_Session_Status')).toBe(false);
    });
  });

  describe('given an ACTIVE webhook', () => {
    const state = given(created);

    it('then it holds its subscription and receives IM_Session_Status', () => {
      expect(state).toStrictEqual({
        status: 'ACTIVE',
        ...ref,
        url: URL,
        events: ['IM_Session_Status'],
        format: 'standard',
        secretSealed: 'sealed:abc',
        createdAt: T0,
        updatedAt: T0,
      });
      expect(webhookReceives(state, 'IM_Session_Status')).toBe(true);
    });

    it('when the same creation is resent (the secret sealed anew), then nothing is decided', () => {
      expect(decideWebhook(create({ secretSealed: 'sealed:other-iv' }), state)).toStrictEqual(nothing);
    });

    it('when it is created again with another URL, then CONFLICT', () => {
      expect(decideWebhook(create({ url: 'https://elsewhere.example.com' }), state)).toStrictEqual({
        ok: false,
        error: { code: 'CONFLICT', message: `Webhook ${WH} exists (ACTIVE)`, details: { webhookId: WH, status: 'ACTIVE' } },
      });
    });

    it('when it is disabled, then WebhookDisabled with the reason', () => {
      expect(decideWebhook(disable('410 Gone'), state)).toStrictEqual(accepted({ type: 'WebhookDisabled', data: { ...ref, reason: '410 Gone', at: NOW } }));
    });

    it('when it is disabled without a reason, then VALIDATION_FAILED', () => {
      expect(decideWebhook(disable(''), state)).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED', details: { field: 'reason' } } });
    });

    it('when it is enabled, then nothing is decided', () => {
      expect(decideWebhook(enable, state)).toStrictEqual(nothing);
    });

    it('when it is deleted, then WebhookDeleted', () => {
      expect(decideWebhook(remove, state)).toStrictEqual(accepted({ type: 'WebhookDeleted', data: { ...ref, at: NOW } }));
    });
  });

  describe('given a DISABLED webhook', () => {
    const state = given(created, disabled('failing since 2026-11-18T10:00:00.000Z'));

    it('then it holds the reason and receives nothing', () => {
      expect(state).toMatchObject({ status: 'DISABLED', disabledReason: 'failing since 2026-11-18T10:00:00.000Z', disabledAt: T0 });
      expect(webhookReceives(state, 'IM_Session_Status')).toBe(false);
    });

    it('when it is disabled again, then nothing is decided: the first reason stands', () => {
      expect(decideWebhook(disable('410 Gone'), state)).toStrictEqual(nothing);
    });

    it('when it is enabled, then WebhookEnabled, and it is ACTIVE without the reason', () => {
      const decision = decideWebhook(enable, state);
      expect(decision).toStrictEqual(accepted({ type: 'WebhookEnabled', data: { ...ref, at: NOW } }));
      const after = decision.ok ? decision.events.reduce(evolveWebhook, state) : state;
      expect(after).toStrictEqual({ ...given(created), updatedAt: NOW });
    });

    it('when the same creation is resent, then nothing is decided', () => {
      expect(decideWebhook(create(), state)).toStrictEqual(nothing);
    });

    it('when it is deleted, then WebhookDeleted', () => {
      expect(decideWebhook(remove, state)).toStrictEqual(accepted({ type: 'WebhookDeleted', data: { ...ref, at: NOW } }));
    });
  });

  describe('given a DELETED webhook', () => {
    const state = given(created, deleted);

    it('then it is DELETED and receives nothing', () => {
      expect(state).toMatchObject({ status: 'DELETED', deletedAt: T0 });
      expect(webhookReceives(state, 'IM_Session_Status')).toBe(false);
    });

    it('when it is deleted again, then nothing is decided', () => {
      expect(decideWebhook(remove, state)).toStrictEqual(nothing);
    });

    it.each<[string, WebhookCommand]>([
      ['DisableWebhook', disable('410 Gone')],
      ['EnableWebhook', enable],
      ['CreateWebhook (even the same)', create()],
    ])('when %s is sent, then CONFLICT', (_type, command) => {
      expect(decideWebhook(command, state)).toMatchObject({ ok: false, error: { code: 'CONFLICT', details: { webhookId: WH, status: 'DELETED' } } });
    });

    it('when an event is folded anyway, then nothing changes', () => {
      expect(evolveWebhook(state, disabled('x'))).toBe(state);
    });
  });
});
