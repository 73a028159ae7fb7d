import { createHmac } from 'node:crypto';
import {
  generateWebhookSecret,
  signWebhook,
  standardWebhookKey,
  standardWebhookSignature,
  verifyStandardWebhook,
  verifyWebhook,
  verifyXSignature,
  webhookSecretProblem,
  xSignature,
} from './signing.js';

const body = '{"sessionId":"s-1","eventId":"e-1"}';
const at = new Date('2026-03-01T10:00:00.250Z');

describe('X-Signature', () => {
  it('is sha256= and the hex HMAC-SHA256 of the raw body keyed with the UTF-8 bytes of the whole secret', () => {
    const secret = 'whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ=';
    const expected = createHmac('sha256', Buffer.from(secret, 'utf8')).update(body).digest('hex');
    expect(xSignature(body, secret)).toBe(`sha256=${expected}`);
    expect(signWebhook({ body, secret, eventId: 'e-1', at })['X-Signature']).toBe(`sha256=${expected}`);
  });

  it('verifies the raw body (string or bytes) and refuses a changed body, another secret or a missing header', () => {
    const secret = 'a-subscriber-chosen-secret';
    const header = xSignature(body, secret);
    expect(verifyXSignature(body, secret, header)).toBe(true);
    expect(verifyXSignature(Buffer.from(body), secret, header.toUpperCase().replace('SHA256=', 'sha256='))).toBe(true);
    expect(verifyXSignature(body.replace('s-1', 's-2'), secret, header)).toBe(false);
    expect(verifyXSignature(body, 'another-secret-of-16', header)).toBe(false);
    expect(verifyXSignature(body, secret, undefined)).toBe(false);
    expect(verifyXSignature(body, secret, 'sha256=00')).toBe(false);
  });
});

describe('Standard Webhooks signature', () => {
  it('matches the published Standard Webhooks test vector (whsec_ secret: base64 key)', () => {
    // From the Standard Webhooks reference libraries' tests.
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    expect(standardWebhookSignature('msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}', secret)).toBe(
      'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    );
  });

  it('keys a secret without the whsec_ prefix with its UTF-8 bytes', () => {
    const secret = 'plain-secret-without-prefix';
    expect(standardWebhookKey(secret)).toEqual(Buffer.from(secret, 'utf8'));
    const expected = createHmac('sha256', Buffer.from(secret, 'utf8')).update(`e-1.1772359200.${body}`).digest('base64');
    expect(signWebhook({ body, secret, eventId: 'e-1', at })['webhook-signature']).toBe(`v1,${expected}`);
  });

  it('signs with webhook-id = the event id and webhook-timestamp = the attempt time in unix seconds', () => {
    const headers = signWebhook({ body, secret: generateWebhookSecret(), eventId: 'evt-42', at });
    expect(headers['webhook-id']).toBe('evt-42');
    expect(headers['X-Event-Id']).toBe('evt-42');
    expect(headers['webhook-timestamp']).toBe('1772359200');
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
  });

  it('verifies within the tolerance and refuses a replay older than it (default 5 minutes) or a timestamp in the future', () => {
    const secret = generateWebhookSecret();
    const headers = signWebhook({ body, secret, eventId: 'e-1', at });
    expect(verifyStandardWebhook(body, secret, headers, { now: at })).toEqual({ ok: true, eventId: 'e-1', timestamp: 1772359200 });
    expect(verifyStandardWebhook(body, secret, headers, { now: new Date(at.getTime() + 299_000) }).ok).toBe(true);
    expect(verifyStandardWebhook(body, secret, headers, { now: new Date(at.getTime() + 301_000) })).toMatchObject({ ok: false, reason: 'TIMESTAMP_TOO_OLD' });
    expect(verifyStandardWebhook(body, secret, headers, { now: new Date(at.getTime() - 301_000) })).toMatchObject({ ok: false, reason: 'TIMESTAMP_IN_FUTURE' });
    expect(verifyStandardWebhook(body, secret, headers, { now: new Date(at.getTime() + 20_000), toleranceSeconds: 10 })).toMatchObject({
      ok: false,
      reason: 'TIMESTAMP_TOO_OLD',
    });
  });

  it('refuses a changed body, a moved timestamp, another secret and missing headers', () => {
    const secret = generateWebhookSecret();
    const headers = signWebhook({ body, secret, eventId: 'e-1', at });
    expect(verifyStandardWebhook(`${body} `, secret, headers, { now: at })).toMatchObject({ ok: false, reason: 'BAD_SIGNATURE' });
    expect(verifyStandardWebhook(body, secret, { ...headers, 'webhook-timestamp': '1772359201' }, { now: at })).toMatchObject({ reason: 'BAD_SIGNATURE' });
    expect(verifyStandardWebhook(body, generateWebhookSecret(), headers, { now: at })).toMatchObject({ reason: 'BAD_SIGNATURE' });
    expect(verifyStandardWebhook(body, secret, { 'webhook-id': 'e-1' }, { now: at })).toMatchObject({ reason: 'MISSING_HEADER' });
    expect(verifyStandardWebhook(body, secret, { ...headers, 'webhook-timestamp': 'soon' }, { now: at })).toMatchObject({ reason: 'BAD_TIMESTAMP' });
  });

  it('accepts any of several space-separated signatures (key rotation) and reads node or fetch headers', () => {
    const secret = generateWebhookSecret();
    const signed = signWebhook({ body, secret, eventId: 'e-1', at });
    const rotated = { ...signed, 'webhook-signature': `v1,b2xkLXNpZ25hdHVyZQ== ${signed['webhook-signature']}` };
    expect(verifyStandardWebhook(body, secret, rotated, { now: at }).ok).toBe(true);
    const nodeStyle = Object.fromEntries(Object.entries(signed).map(([k, v]) => [k.toLowerCase(), v]));
    expect(verifyWebhook(body, secret, nodeStyle, { now: at }).ok).toBe(true);
    expect(verifyWebhook(body, secret, new Headers(signed), { now: at }).ok).toBe(true);
  });
});

describe('verifyWebhook (both schemes)', () => {
  it('needs X-Signature, the Standard Webhooks signature within the tolerance, and one event id', () => {
    const secret = generateWebhookSecret();
    const headers = signWebhook({ body, secret, eventId: 'e-1', at });
    expect(verifyWebhook(body, secret, headers, { now: at })).toEqual({ ok: true, eventId: 'e-1', timestamp: 1772359200 });
    const { 'X-Signature': _x, ...withoutX } = headers;
    expect(verifyWebhook(body, secret, withoutX, { now: at })).toMatchObject({ ok: false, reason: 'MISSING_HEADER' });
    expect(verifyWebhook(body, secret, { ...headers, 'X-Event-Id': 'e-2' }, { now: at })).toMatchObject({ ok: false, reason: 'BAD_SIGNATURE' });
    expect(verifyWebhook(body, secret, headers, { now: new Date(at.getTime() + 10 * 60_000) })).toMatchObject({ ok: false, reason: 'TIMESTAMP_TOO_OLD' });
  });
});

describe('secrets', () => {
  it('generates whsec_ and the base64 of 32 random bytes, different every time', () => {
    const a = generateWebhookSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(a.slice(6), 'base64')).toHaveLength(32);
    expect(standardWebhookKey(a)).toHaveLength(32);
    expect(generateWebhookSecret()).not.toBe(a);
    expect(webhookSecretProblem(a)).toBeUndefined();
  });

  it('refuses short secrets and whsec_ secrets that are not base64', () => {
    expect(webhookSecretProblem('short')).toMatch(/16 characters/);
    expect(webhookSecretProblem('a-subscriber-chosen-secret')).toBeUndefined();
    expect(webhookSecretProblem('whsec_not base64 at all!!')).toMatch(/base64/);
    expect(webhookSecretProblem('whsec_c2hvcnQ=xxxxxxxx')).toMatch(/base64/);
    expect(webhookSecretProblem('whsec_c2hvcnRzaG9ydA==')).toMatch(/16 bytes/);
    expect(() => standardWebhookKey('whsec_not base64!')).toThrow(/base64/);
  });
});
