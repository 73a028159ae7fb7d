import { jest } from '@jest/globals';
import { FakeGateway, MemoryStorage, ORG_KEY, WIDGET_KEY, fakeJwt } from './__fixtures__/fake-gateway.js';
import { WidgetError } from './errors.js';
import { type InitOptions, type Widget, init, submissionOf } from './widget.js';

const T0 = new Date('2026-12-02T10:00:00.000Z');
const KEY = 'svp-widget:web';

let gateway: FakeGateway;
let storage: MemoryStorage;
const opened: Widget[] = [];

/** init against the fake gateway with a widget key on channel `web`, and these options on top. */
async function start(options: Partial<InitOptions> = {}): Promise<Widget> {
  const widget = await init({ apiUrl: 'http://gateway.test/', widgetKey: WIDGET_KEY, channelId: 'web', storage, fetch: gateway.fetch, ...options });
  opened.push(widget);
  return widget;
}

const stored = () => storage.json(KEY) as Record<string, string> | undefined;
const minutes = (n: number) => n * 60_000;

beforeEach(() => {
  jest.useFakeTimers({ now: T0 });
  gateway = new FakeGateway();
  storage = new MemoryStorage();
});

afterEach(() => {
  for (const widget of opened.splice(0)) widget.close();
  jest.useRealTimers();
});

describe('init', () => {
  describe('given nothing stored', () => {
    it('when init runs, then it starts a session with the widget key and the page\'s values, and stores it', async () => {
      const values = [
        { name: 'UserName', value: 'John' },
        { name: 'id', value: '6320834868293' },
      ];
      const widget = await start({ brandId: 'brand_1', sessionVariableValues: values });

      expect(gateway.calls.map((c) => c.operation)).toEqual(['StartSession']);
      expect(gateway.calls[0]).toEqual({
        operation: 'StartSession',
        variables: { channelId: 'web', brandId: 'brand_1', sessionVariableValues: values },
        authorization: `Bearer ${WIDGET_KEY}`,
      });
      expect(widget.resumed).toBe(false);
      expect(widget.sessionId).toMatch(/^ses_/);
      expect(widget.visitorId).toMatch(/^vis_/);
      expect(stored()).toEqual({
        sessionId: widget.sessionId,
        visitorId: widget.visitorId,
        visitorToken: expect.stringMatching(/^svpv_/),
        visitorTokenExpiresAt: '2026-12-02T10:15:00.000Z',
        channelId: 'web',
      });
    });

    it('when storage is null, then nothing is kept and the next init starts another session', async () => {
      const first = await start({ storage: null });
      const second = await start({ storage: null });
      expect(storage.items.size).toBe(0);
      expect(second.sessionId).not.toBe(first.sessionId);
      expect(gateway.callsOf('StartSession')).toHaveLength(2);
    });
  });

  describe('given a live stored session with an unexpired token', () => {
    it('when init runs, then it resumes the session and merges the page\'s values with the visitor token, not the widget key', async () => {
      const first = await start();
      const token = stored()!.visitorToken;
      jest.setSystemTime(T0.getTime() + minutes(5));
      first.close();

      const values = [{ name: 'cart', value: 42 }];
      const widget = await start({ sessionVariableValues: values });

      expect(widget.resumed).toBe(true);
      expect(widget.sessionId).toBe(first.sessionId);
      expect(widget.visitorId).toBe(first.visitorId);
      expect(gateway.calls.slice(1)).toEqual([
        { operation: 'Session', variables: { id: first.sessionId }, authorization: `Bearer ${token}` },
        { operation: 'SetSessionVariables', variables: { sessionId: first.sessionId, values }, authorization: `Bearer ${token}` },
      ]);
    });

    it('when init runs without values, then it sends no setSessionVariables', async () => {
      (await start()).close();
      await start();
      expect(gateway.calls.map((c) => c.operation)).toEqual(['StartSession', 'Session']);
    });

    it('when the stored session is for another channel, then it is not resumed', async () => {
      const onWeb = await start({ storageKey: 'shared' });
      const onApp = await start({ storageKey: 'shared', channelId: 'app' });
      expect(onApp.sessionId).not.toBe(onWeb.sessionId);
      expect(gateway.callsOf('Session')).toHaveLength(0);
    });
  });

  describe('given a stored session that has ended', () => {
    it('when init runs, then a new session starts for the same visitor, proven by the old token', async () => {
      const first = await start();
      const oldToken = stored()!.visitorToken;
      gateway.end(first.sessionId);

      const widget = await start();

      expect(widget.resumed).toBe(false);
      expect(widget.sessionId).not.toBe(first.sessionId);
      expect(widget.visitorId).toBe(first.visitorId);
      expect(gateway.callsOf('StartSession')[1]!.variables).toMatchObject({ visitorToken: oldToken });
      expect(stored()!.sessionId).toBe(widget.sessionId);
    });
  });

  describe('given a stored token that has expired', () => {
    it('when init runs, then it does not read the session but proves the visitor with the expired token', async () => {
      const first = await start();
      first.close();
      const oldToken = stored()!.visitorToken;
      jest.setSystemTime(T0.getTime() + minutes(60));

      const widget = await start();

      expect(gateway.calls.map((c) => c.operation)).toEqual(['StartSession', 'StartSession']);
      expect(gateway.calls[1]!.variables).toMatchObject({ visitorToken: oldToken });
      expect(widget.visitorId).toBe(first.visitorId);
    });

    it('when it is older than the 30 days a token proves its visitor, then a new visitor starts', async () => {
      const first = await start();
      first.close();
      jest.setSystemTime(T0.getTime() + 31 * 86_400_000);

      const widget = await start();

      expect(widget.visitorId).not.toBe(first.visitorId);
      const [, refused, fresh] = gateway.callsOf('StartSession');
      expect(refused!.variables.visitorToken).toBeDefined();
      expect(fresh!.variables.visitorToken).toBeUndefined();
    });
  });

  describe('given a stored token the gateway refuses', () => {
    it('when init runs, then it starts fresh with a new visitor', async () => {
      const forged = `svpv_${fakeJwt({ alg: 'HS256' }, { sid: 'ses_x', sub: 'vis_x', exp: T0.getTime() / 1000 + 600 })}`;
      storage.setItem(KEY, JSON.stringify({ sessionId: 'ses_x', visitorId: 'vis_x', visitorToken: forged, visitorTokenExpiresAt: '2026-12-02T10:10:00.000Z', channelId: 'web' }));

      const widget = await start();

      expect(gateway.calls.map((c) => [c.operation, c.variables.visitorToken])).toEqual([
        ['Session', undefined],
        ['StartSession', forged],
        ['StartSession', undefined],
      ]);
      expect(widget.visitorId).not.toBe('vis_x');
      expect(stored()!.sessionId).toBe(widget.sessionId);
    });
  });

  describe('given the gateway cannot be reached while resuming', () => {
    it('when init runs, then it rejects with NETWORK and keeps the stored session for the next try', async () => {
      (await start()).close();
      const before = storage.getItem(KEY);
      gateway.failNext('Session', 'network');

      await expect(start()).rejects.toMatchObject({ name: 'WidgetError', code: 'NETWORK' });
      expect(storage.getItem(KEY)).toBe(before);
      expect(gateway.callsOf('StartSession')).toHaveLength(1);
    });
  });

  describe('given a sessionToken the business\'s back-end obtained', () => {
    it('when init runs without a widget key, then it resumes that session with the token alone and stores it under its channel', async () => {
      const { sessionId, visitorId, visitorToken } = gateway.startWithOrgKey('web');

      const widget = await init({ apiUrl: 'http://gateway.test', sessionToken: visitorToken, storage, fetch: gateway.fetch });
      opened.push(widget);

      expect(widget).toMatchObject({ sessionId, visitorId, channelId: 'web', resumed: true });
      expect(gateway.calls.map((c) => c.authorization)).toEqual([`Bearer ${visitorToken}`]);
      expect(gateway.calls.some((c) => c.authorization === `Bearer ${ORG_KEY}`)).toBe(false);
      expect(stored()).toMatchObject({ sessionId, visitorToken });
    });

    it('when its session has ended and there is no widget key, then init rejects with SESSION_ENDED', async () => {
      const { sessionId, visitorToken } = gateway.startWithOrgKey('web');
      gateway.end(sessionId);

      await expect(init({ apiUrl: 'http://gateway.test', sessionToken: visitorToken, storage: null, fetch: gateway.fetch })).rejects.toMatchObject({
        code: 'SESSION_ENDED',
        details: { sessionId, sessionStatus: 'ENDED' },
      });
    });

    it('when it is no visitor token, then init rejects with VALIDATION_FAILED before any call', async () => {
      await expect(init({ apiUrl: 'http://gateway.test', sessionToken: 'svp_an_org_key', fetch: gateway.fetch })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      expect(gateway.calls).toHaveLength(0);
    });
  });

  describe('given an identityToken', () => {
    it('when init runs, then it authenticates the session right after starting it and keeps the outcome', async () => {
      const widget = await start({ identityToken: 'good.identity.jwt' });

      expect(gateway.calls.map((c) => c.operation)).toEqual(['StartSession', 'Authenticate']);
      expect(gateway.calls[1]!.variables).toEqual({ sessionId: widget.sessionId, token: 'good.identity.jwt' });
      expect(widget.authentication).toMatchObject({ authenticated: true, externalId: 'ext-1' });
    });
  });

  describe('given options that cannot work', () => {
    it.each([
      ['a widget key without a channel', { widgetKey: WIDGET_KEY, channelId: undefined }],
      ['neither a widget key nor a session token', { widgetKey: undefined }],
      ['an apiUrl that is not http(s)', { apiUrl: 'localhost:4000' }],
    ])('when init gets %s, then it rejects with VALIDATION_FAILED before any call', async (_label, options) => {
      await expect(start(options)).rejects.toBeInstanceOf(WidgetError);
      await expect(start(options)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      expect(gateway.calls).toHaveLength(0);
    });
  });
});

describe('the visitor token refresh', () => {
  it('given a 15-minute token, then it is refreshed at 2/3 of its lifetime, stored, and the next refresh uses the new token', async () => {
    const widget = await start();
    const first = stored()!.visitorToken;

    await jest.advanceTimersByTimeAsync(minutes(10) - 1);
    expect(gateway.callsOf('RefreshVisitorToken')).toHaveLength(0);

    await jest.advanceTimersByTimeAsync(1);
    const [refresh] = gateway.callsOf('RefreshVisitorToken');
    expect(refresh).toEqual({ operation: 'RefreshVisitorToken', variables: { sessionId: widget.sessionId }, authorization: `Bearer ${first}` });
    const second = stored()!;
    expect(second.visitorToken).not.toBe(first);
    expect(second.visitorTokenExpiresAt).toBe('2026-12-02T10:25:00.000Z');

    await jest.advanceTimersByTimeAsync(minutes(10));
    const refreshes = gateway.callsOf('RefreshVisitorToken');
    expect(refreshes).toHaveLength(2);
    expect(refreshes[1]!.authorization).toBe(`Bearer ${second.visitorToken}`);
  });

  it('given a resumed token with 3 minutes left, then it is refreshed after 2 minutes', async () => {
    (await start()).close();
    jest.setSystemTime(T0.getTime() + minutes(12));
    await start();

    await jest.advanceTimersByTimeAsync(minutes(2) - 1);
    expect(gateway.callsOf('RefreshVisitorToken')).toHaveLength(0);
    await jest.advanceTimersByTimeAsync(1);
    expect(gateway.callsOf('RefreshVisitorToken')).toHaveLength(1);
  });

  it('given a network failure, then the error is reported and the refresh is tried again while the token holds', async () => {
    const widget = await start();
    const errors: WidgetError[] = [];
    widget.on('error', (error) => errors.push(error));
    gateway.failNext('RefreshVisitorToken', 'network');

    await jest.advanceTimersByTimeAsync(minutes(10));
    expect(errors.map((e) => e.code)).toEqual(['NETWORK']);
    const before = stored()!.visitorToken;

    await jest.advanceTimersByTimeAsync(30_000);
    expect(gateway.callsOf('RefreshVisitorToken')).toHaveLength(2);
    expect(stored()!.visitorToken).not.toBe(before);
  });

  it('given the session ended meanwhile (CONFLICT), then the error is reported and refreshing stops', async () => {
    const widget = await start();
    const errors: WidgetError[] = [];
    widget.on('error', (error) => errors.push(error));
    gateway.end(widget.sessionId);

    await jest.advanceTimersByTimeAsync(minutes(60));
    expect(errors.map((e) => [e.code, e.status])).toEqual([['CONFLICT', 409]]);
    expect(gateway.callsOf('RefreshVisitorToken')).toHaveLength(1);
  });

  it('given close(), then no refresh runs any more', async () => {
    const widget = await start();
    widget.close();
    await jest.advanceTimersByTimeAsync(minutes(60));
    expect(gateway.callsOf('RefreshVisitorToken')).toHaveLength(0);
  });

  it('given Node, then the pending refresh timer does not keep the process alive (unref)', async () => {
    jest.useRealTimers();
    const spy = jest.spyOn(globalThis, 'setTimeout');
    try {
      await start();
      const timers = spy.mock.results.map((r) => r.value as { hasRef(): boolean });
      expect(timers.length).toBeGreaterThan(0);
      expect(timers.every((t) => t.hasRef() === false)).toBe(true);
    } finally {
      spy.mockRestore();
    }
  });
});

describe('logout', () => {
  it('given a live session, then it ends it with reason logout, clears the stored session and closes the widget', async () => {
    const widget = await start();
    const token = stored()!.visitorToken;

    await widget.logout();

    expect(gateway.callsOf('EndSession')).toEqual([
      { operation: 'EndSession', variables: { sessionId: widget.sessionId, reason: 'logout' }, authorization: `Bearer ${token}` },
    ]);
    expect(storage.getItem(KEY)).toBeNull();
    await expect(widget.getVariables()).rejects.toMatchObject({ code: 'CLOSED' });
    await jest.advanceTimersByTimeAsync(minutes(60));
    expect(gateway.callsOf('RefreshVisitorToken')).toHaveLength(0);
  });

  it('given a session that had already ended (CONFLICT), then it still clears the stored session and resolves', async () => {
    const widget = await start();
    gateway.end(widget.sessionId);

    await expect(widget.logout()).resolves.toBeUndefined();
    expect(storage.getItem(KEY)).toBeNull();
  });

  it('given the end fails for another reason, then the stored session is cleared all the same and logout rejects with that error', async () => {
    const widget = await start();
    gateway.failNext('EndSession', 'network');

    await expect(widget.logout()).rejects.toMatchObject({ code: 'NETWORK' });
    expect(storage.getItem(KEY)).toBeNull();
  });

  it('given a refresh whose new token is on its way, then that token is not written back after logout', async () => {
    const widget = await start();
    const release = gateway.holdNext('RefreshVisitorToken');
    await jest.advanceTimersByTimeAsync(minutes(10));
    expect(gateway.callsOf('RefreshVisitorToken')).toHaveLength(1);

    await widget.logout();
    release();
    await jest.advanceTimersByTimeAsync(0);

    expect(storage.getItem(KEY)).toBeNull();
  });

  it('given a logout, then the next init starts a new session for a new visitor', async () => {
    const first = await start();
    await first.logout();
    const next = await start();
    expect(next.sessionId).not.toBe(first.sessionId);
    expect(next.visitorId).not.toBe(first.visitorId);
    expect(gateway.callsOf('StartSession')[1]!.variables.visitorToken).toBeUndefined();
  });
});

describe('calls on the session', () => {
  it('triggerEvent setVariable merges session variables with the visitor token and answers every variable', async () => {
    const widget = await start({ sessionVariableValues: [{ name: 'UserName', value: 'John' }] });

    const variables = await widget.triggerEvent('setVariable', { sessionVariableValues: [{ name: 'plan', value: 'gold' }] });

    expect(variables.map((v) => [v.name, v.value])).toEqual([
      ['UserName', 'John'],
      ['plan', 'gold'],
    ]);
    expect(gateway.callsOf('SetSessionVariables')[0]!.authorization).toBe(`Bearer ${stored()!.visitorToken}`);
  });

  it('triggerEvent with an event it does not know rejects with VALIDATION_FAILED without a call', async () => {
    const widget = await start();
    await expect(widget.triggerEvent('setVariables' as 'setVariable', { sessionVariableValues: [] })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(gateway.calls).toHaveLength(1);
  });

  it('an error of the gateway comes back as a WidgetError with the extensions\' code, status and details', async () => {
    const widget = await start();
    gateway.failNext('SetSessionVariables', { code: 'LIMIT_EXCEEDED', message: 'Too many variables', details: { limit: 50 } });

    const error = await widget.triggerEvent('setVariable', { sessionVariableValues: [{ name: 'a', value: 1 }] }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(WidgetError);
    expect(error).toMatchObject({ code: 'LIMIT_EXCEEDED', status: 422, details: { limit: 50 }, message: 'Too many variables' });
  });

  it('authenticate answers why a token did not take', async () => {
    const widget = await start();
    await expect(widget.authenticate('bad.identity.jwt')).resolves.toMatchObject({ authenticated: false, reason: 'SIGNATURE_INVALID' });
    expect(widget.authentication).toMatchObject({ authenticated: false });
  });

  it('getSession and getVariables read the session with the visitor token', async () => {
    const widget = await start({ sessionVariableValues: [{ name: 'id', value: '6320834868293' }] });
    await expect(widget.getSession()).resolves.toMatchObject({ sessionId: widget.sessionId, sessionStatus: 'CREATED', channelId: 'web' });
    await expect(widget.getVariables()).resolves.toEqual([expect.objectContaining({ name: 'id', value: '6320834868293' })]);
    expect(gateway.calls.slice(1).every((c) => c.authorization === `Bearer ${stored()!.visitorToken}`)).toBe(true);
  });
});

describe('visitor.submit (giosg)', () => {
  it('given plain data, then it submits them merged by default, rooms by name or id', async () => {
    const widget = await start();

    await widget.visitor.submit({ username: 'John', plan: 'gold' }, 'plain', undefined, ['Sales', { id: 'room_2' }]);

    expect(gateway.callsOf('SubmitVisitorVariables')[0]!.variables).toEqual({
      visitorId: widget.visitorId,
      signing: 'plain',
      data: { username: 'John', plan: 'gold' },
      replaceExisting: false,
      rooms: [{ name: 'Sales' }, { id: 'room_2' }],
    });
  });

  it('given a signed JWT as signing, then the JWT goes as token with the alg of its header, and no data', async () => {
    const widget = await start();
    const jwt = fakeJwt({ alg: 'RS256', kid: 'key_1', typ: 'JWT' }, { plan: 'gold' });

    await widget.visitor.submit(null, jwt, true);

    expect(gateway.callsOf('SubmitVisitorVariables')[0]!.variables).toEqual({ visitorId: widget.visitorId, signing: 'RS256', token: jwt, replaceExisting: true });
  });

  it.each([
    ['a signing that is neither plain nor a JWT', () => submissionOf({ a: 1 }, 'signed')],
    ['a JWT whose alg no signing key can have', () => submissionOf(null, fakeJwt({ alg: 'none' }))],
    ['data next to a signed JWT (its claims are the data)', () => submissionOf({ a: 1 }, fakeJwt({ alg: 'HS256' }))],
    ['plain data that is not an object', () => submissionOf('text', 'plain')],
    ['giosg\'s order with an alg the JWT\'s header contradicts', () => submissionOf(fakeJwt({ alg: 'HS256' }), 'ES256')],
  ])('given %s, then it is refused before any call (VALIDATION_FAILED)', (_label, submit) => {
    expect(submit).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED' }));
  });

  it('given giosg\'s own order (the JWT as data, the alg as signing), then it is sent signed', () => {
    const jwt = fakeJwt({ alg: 'HS256', kid: 'k' });
    expect(submissionOf(jwt, 'HS256')).toEqual({ signing: 'HS256', token: jwt });
  });

  it('given a refused submit, then nothing is sent', async () => {
    const widget = await start();
    await expect(widget.visitor.submit({ a: 1 }, 'not-a-jwt')).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(gateway.callsOf('SubmitVisitorVariables')).toHaveLength(0);
  });
});
