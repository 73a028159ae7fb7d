import {
  CHANNEL_EVENT_TYPES,
  CHANNEL_STATES,
  type ChannelCommand,
  type ChannelDecision,
  type ChannelEvent,
  type ChannelRegistryState,
  type ChannelState,
  channelLimitsOf,
  channelStream,
  decideChannel,
  evolveChannel,
  initialChannelState,
  replyChannelOf,
} from './channel.js';

// Given/when/then on the channel registry decider, one `describe` per state.

const ORG = 'org_1';
const CH = 'wa_1';
const T0 = '2026-11-21T10:00:00.000Z';
const NOW = '2026-11-21T11:00:00.000Z';
const ref = { orgId: ORG, channelId: CH };
const limits = { credits: 1000, outgoingLimitPerDay: 250, sandboxLimit: null };

const given = (...events: ChannelEvent[]): ChannelRegistryState => events.reduce(evolveChannel, initialChannelState());
const accepted = (...events: ChannelEvent[]): ChannelDecision => ({ ok: true, events });
const nothing: ChannelDecision = { ok: true, events: [] };

const created: ChannelEvent = { type: 'ChannelCreated', data: { ...ref, name: 'WhatsApp', sandbox: false, ...limits, at: T0 } };
const stateChanged = (state: ChannelState, previousState: ChannelState, at = T0): ChannelEvent => ({
  type: 'ChannelStateChanged',
  data: { ...ref, state, previousState, at },
});
const failed = (reason: string): ChannelEvent => ({ type: 'ChannelSendFailed', data: { ...ref, reason, at: T0 } });

const create = (over: Partial<{ name: string; sandbox: boolean; credits: number | null; outgoingLimitPerDay: number | null; sandboxLimit: number | null }> = {}): ChannelCommand => ({
  type: 'CreateChannel',
  data: { ...ref, name: 'WhatsApp', sandbox: false, ...limits, now: NOW, ...over },
});
const changeState = (state: ChannelState): ChannelCommand => ({ type: 'ChangeChannelState', data: { ...ref, state, now: NOW } });
const setLimits = (over: Partial<{ credits: number | null; outgoingLimitPerDay: number | null; sandboxLimit: number | null }>): ChannelCommand => ({
  type: 'SetChannelLimits',
  data: { ...ref, ...over, now: NOW },
});
const reportFailure = (reason: string): ChannelCommand => ({ type: 'ReportSendFailure', data: { ...ref, reason, now: NOW } });
const clearFailure: ChannelCommand = { type: 'ClearSendFailure', data: { ...ref, now: NOW } };

describe('channel registry decider', () => {
  it('registers every event type by an explicit name, and names the stream by org and channel', () => {
    expect(CHANNEL_EVENT_TYPES).toEqual(['ChannelCreated', 'ChannelStateChanged', 'ChannelLimitsSet', 'ChannelSendFailed', 'ChannelSendRecovered']);
    expect(channelStream(ORG, CH)).toBe('channel-org_1.wa_1');
  });

  describe('given no channel', () => {
    const state = initialChannelState();

    it('when it is created, then ChannelCreated with its limits', () => {
      expect(decideChannel(create(), state)).toStrictEqual(
        accepted({ type: 'ChannelCreated', data: { ...ref, name: 'WhatsApp', sandbox: false, ...limits, at: NOW } }),
      );
    });

    it('when ChannelCreated is folded, then it is ACTIVE with no send failure', () => {
      expect(evolveChannel(state, created)).toStrictEqual({
        status: 'ACTIVE',
        ...ref,
        name: 'WhatsApp',
        sandbox: false,
        ...limits,
        lastSendFailure: null,
        createdAt: T0,
        updatedAt: T0,
      });
    });

    it.each<[string, ChannelCommand, string]>([
      ['a negative credit count', create({ credits: -1 }), 'credits'],
      ['a fractional daily limit', create({ outgoingLimitPerDay: 1.5 }), 'outgoingLimitPerDay'],
      ['a NaN sandbox limit', create({ sandboxLimit: Number.NaN }), 'sandboxLimit'],
      ['a blank name', create({ name: '  ' }), 'name'],
    ])('when it is created with %s, then VALIDATION_FAILED names the field', (_what, command, field) => {
      expect(decideChannel(command, state)).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED', details: { field } } });
    });

    it.each<[string, ChannelCommand]>([
      ['ChangeChannelState', changeState('INACTIVE')],
      ['SetChannelLimits', setLimits({ credits: 1 })],
      ['ReportSendFailure', reportFailure('boom')],
      ['ClearSendFailure', clearFailure],
    ])('when %s is sent, then NOT_FOUND', (_type, command) => {
      expect(decideChannel(command, state)).toStrictEqual({ ok: false, error: { code: 'NOT_FOUND', message: `Channel ${CH} not found`, details: { channelId: CH } } });
    });

    it('then the reply status sees no channel (treated as ACTIVE) and no limits', () => {
      expect(replyChannelOf(state)).toBeNull();
      expect(channelLimitsOf(state)).toStrictEqual({ credits: null, outgoingLimitPerDay: null, sandboxLimit: null });
    });
  });

  describe('given an ACTIVE channel', () => {
    const state = given(created);

    it('when the same creation is resent, then nothing is decided', () => {
      expect(decideChannel(create(), state)).toStrictEqual(nothing);
    });

    it('when it is created again with other data, then CONFLICT', () => {
      expect(decideChannel(create({ sandbox: true }), state)).toStrictEqual({
        ok: false,
        error: { code: 'CONFLICT', message: `Channel ${CH} exists (ACTIVE)`, details: { channelId: CH, state: 'ACTIVE' } },
      });
    });

    it.each(CHANNEL_STATES.filter((s) => s !== 'ACTIVE'))('when its state changes to %s, then ChannelStateChanged from ACTIVE', (next) => {
      expect(decideChannel(changeState(next), state)).toStrictEqual(accepted(stateChanged(next, 'ACTIVE', NOW)));
    });

    it('when its state is set to ACTIVE, then nothing is decided', () => {
      expect(decideChannel(changeState('ACTIVE'), state)).toStrictEqual(nothing);
    });

    it('when an unknown state is sent, then VALIDATION_FAILED', () => {
      expect(decideChannel(changeState('BROKEN' as ChannelState), state)).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED', details: { field: 'state' } } });
    });

    it('when some limits are set, then ChannelLimitsSet carries all three after the change', () => {
      expect(decideChannel(setLimits({ credits: null, sandboxLimit: 10 }), state)).toStrictEqual(
        accepted({ type: 'ChannelLimitsSet', data: { ...ref, credits: null, outgoingLimitPerDay: 250, sandboxLimit: 10, at: NOW } }),
      );
    });

    it('when the limits it has are set again, or none is given, then nothing is decided', () => {
      expect(decideChannel(setLimits({ credits: 1000 }), state)).toStrictEqual(nothing);
      expect(decideChannel(setLimits({}), state)).toStrictEqual(nothing);
    });

    it('when a limit is invalid, then VALIDATION_FAILED', () => {
      expect(decideChannel(setLimits({ outgoingLimitPerDay: -5 }), state)).toMatchObject({
        ok: false,
        error: { code: 'VALIDATION_FAILED', details: { field: 'outgoingLimitPerDay', value: -5 } },
      });
    });

    it('when the limits were set, then the state and channelLimitsOf hold them', () => {
      const after = given(created, { type: 'ChannelLimitsSet', data: { ...ref, credits: 5, outgoingLimitPerDay: null, sandboxLimit: 1, at: NOW } });
      expect(channelLimitsOf(after)).toStrictEqual({ credits: 5, outgoingLimitPerDay: null, sandboxLimit: 1 });
      expect(after).toMatchObject({ status: 'ACTIVE', updatedAt: NOW });
    });

    it('when a send failure is reported, then ChannelSendFailed', () => {
      expect(decideChannel(reportFailure('HTTP 500'), state)).toStrictEqual(accepted({ type: 'ChannelSendFailed', data: { ...ref, reason: 'HTTP 500', at: NOW } }));
    });

    it('when a blank send failure is reported, then VALIDATION_FAILED', () => {
      expect(decideChannel(reportFailure(' '), state)).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED', details: { field: 'reason' } } });
    });

    it('when a send failure is cleared but none was reported, then nothing is decided', () => {
      expect(decideChannel(clearFailure, state)).toStrictEqual(nothing);
    });

    it('then the reply status reads its state, failure and sandbox flag', () => {
      expect(replyChannelOf(state)).toStrictEqual({ state: 'ACTIVE', lastSendFailure: null, sandbox: false });
    });
  });

  describe('given a channel that reported a send failure', () => {
    const state = given(created, failed('HTTP 500'));

    it('then the failure is held', () => {
      expect(replyChannelOf(state)).toStrictEqual({ state: 'ACTIVE', lastSendFailure: 'HTTP 500', sandbox: false });
    });

    it('when the same failure is reported again, then nothing is decided; another one is recorded', () => {
      expect(decideChannel(reportFailure('HTTP 500'), state)).toStrictEqual(nothing);
      expect(decideChannel(reportFailure('timeout'), state)).toStrictEqual(accepted({ type: 'ChannelSendFailed', data: { ...ref, reason: 'timeout', at: NOW } }));
    });

    it('when it is cleared, then ChannelSendRecovered names the failure, and the state has none', () => {
      const decision = decideChannel(clearFailure, state);
      expect(decision).toStrictEqual(accepted({ type: 'ChannelSendRecovered', data: { ...ref, previousFailure: 'HTTP 500', at: NOW } }));
      const after = decision.ok ? decision.events.reduce(evolveChannel, state) : state;
      expect(replyChannelOf(after)).toStrictEqual({ state: 'ACTIVE', lastSendFailure: null, sandbox: false });
    });

    it('when its state changes, then the failure stays until it is cleared', () => {
      expect(replyChannelOf(given(created, failed('HTTP 500'), stateChanged('INACTIVE', 'ACTIVE')))).toMatchObject({ state: 'INACTIVE', lastSendFailure: 'HTTP 500' });
    });
  });

  describe('given an INACTIVE channel', () => {
    const state = given(created, stateChanged('INACTIVE', 'ACTIVE'));

    it('when it is activated again, then ChannelStateChanged back to ACTIVE', () => {
      expect(decideChannel(changeState('ACTIVE'), state)).toStrictEqual(accepted(stateChanged('ACTIVE', 'INACTIVE', NOW)));
    });

    it('when it is set INACTIVE again, then nothing is decided', () => {
      expect(decideChannel(changeState('INACTIVE'), state)).toStrictEqual(nothing);
    });

    it('when it is deleted, then DELETED with its time', () => {
      const decision = decideChannel(changeState('DELETED'), state);
      expect(decision).toStrictEqual(accepted(stateChanged('DELETED', 'INACTIVE', NOW)));
      expect(decision.ok && decision.events.reduce(evolveChannel, state)).toMatchObject({ status: 'DELETED', deletedAt: NOW });
    });
  });

  describe('given a DELETED channel', () => {
    const state = given(created, stateChanged('DELETED', 'ACTIVE'));
    const conflict = { ok: false, error: { code: 'CONFLICT', message: `Channel ${CH} is DELETED: it cannot change any more`, details: { channelId: CH, state: 'DELETED' } } };

    it.each<[string, ChannelCommand]>([
      ['ChangeChannelState to ACTIVE', changeState('ACTIVE')],
      ['SetChannelLimits', setLimits({ credits: 1 })],
      ['ReportSendFailure', reportFailure('boom')],
      ['ClearSendFailure', clearFailure],
    ])('when %s is sent, then CONFLICT: DELETED is terminal', (_what, command) => {
      expect(decideChannel(command, state)).toStrictEqual(conflict);
    });

    it('when it is deleted again, then nothing is decided', () => {
      expect(decideChannel(changeState('DELETED'), state)).toStrictEqual(nothing);
    });

    it('when it is created again, even with the same data, then CONFLICT', () => {
      expect(decideChannel(create(), state)).toMatchObject({ ok: false, error: { code: 'CONFLICT', details: { state: 'DELETED' } } });
    });

    it('when an event is folded anyway, then nothing changes', () => {
      expect(evolveChannel(state, failed('boom'))).toBe(state);
    });

    it('then the reply status sees CHANNEL_DELETED\'s state', () => {
      expect(replyChannelOf(state)).toMatchObject({ state: 'DELETED' });
    });
  });
});
