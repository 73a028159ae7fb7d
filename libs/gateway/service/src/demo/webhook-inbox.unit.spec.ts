import { createHmac } from 'node:crypto';
import { WebhookInbox, signatureMatches } from './webhook-inbox.js';

const SECRET = 'whsec_demo_0123456789';
const T0 = new Date('2026-12-02T10:00:00.000Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

/** An IM_Session_Status delivery as the sessions service's webhook sender posts it. */
const delivery = (sessionId: string, sessionStatus = 'OPEN') =>
  Buffer.from(JSON.stringify({ sessionId, sessionStatus, sessionOldStatus: 'CREATED', replyStatus: 'UNASSIGNED', eventType: 'IM_Session_Status', orgId: 'org_acme' }));
const sign = (body: Buffer, secret = SECRET) => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

describe('signatureMatches: X-Signature is sha256=<hex HMAC of the raw body>', () => {
  const body = delivery('ses_1');

  it('given the HMAC-SHA256 of the raw body with the secret, then it matches', () => {
    expect(signatureMatches(body, sign(body), SECRET)).toBe(true);
  });

  it('given a signature made with another secret, then it does not match', () => {
    expect(signatureMatches(body, sign(body, 'whsec_other_secret'), SECRET)).toBe(false);
  });

  it('given a signature of other bytes (the body re-serialized, one byte changed), then it does not match', () => {
    const reformatted = Buffer.from(JSON.stringify(JSON.parse(body.toString()), null, 2));
    expect(signatureMatches(body, sign(reformatted), SECRET)).toBe(false);
    const tampered = Buffer.from(body.toString().replace('OPEN', 'ENDED'));
    expect(signatureMatches(tampered, sign(body), SECRET)).toBe(false);
  });

  it('given a body with a trailing newline or bytes that are not UTF-8, then the HMAC is over the exact bytes', () => {
    const withNewline = Buffer.concat([body, Buffer.from('\n')]);
    expect(signatureMatches(withNewline, sign(withNewline), SECRET)).toBe(true);
    expect(signatureMatches(withNewline, sign(body), SECRET)).toBe(false);
    const notUtf8 = Buffer.from([0x7b, 0xff, 0xfe, 0x7d]);
    expect(signatureMatches(notUtf8, sign(notUtf8), SECRET)).toBe(true);
    expect(signatureMatches(notUtf8, sign(Buffer.from(notUtf8.toString('utf8'))), SECRET)).toBe(false);
  });

  it('given no signature header, then it does not match', () => {
    expect(signatureMatches(body, undefined, SECRET)).toBe(false);
    expect(signatureMatches(body, '', SECRET)).toBe(false);
  });

  it('given the right hex without the sha256= prefix or with another prefix, then it does not match', () => {
    const hex = sign(body).slice('sha256='.length);
    expect(signatureMatches(body, hex, SECRET)).toBe(false);
    expect(signatureMatches(body, `sha1=${hex}`, SECRET)).toBe(false);
    expect(signatureMatches(body, `SHA256=${hex}`, SECRET)).toBe(false);
  });

  it('given a signature of another length (truncated, extended, multi-byte), then it does not match and does not throw', () => {
    const right = sign(body);
    expect(signatureMatches(body, right.slice(0, -1), SECRET)).toBe(false);
    expect(signatureMatches(body, `${right}0`, SECRET)).toBe(false);
    expect(signatureMatches(body, 'sha256=abc', SECRET)).toBe(false);
    // Same number of characters, more bytes: compared by bytes.
    expect(signatureMatches(body, `${right.slice(0, -1)}é`, SECRET)).toBe(false);
  });
});

describe('WebhookInbox: the demo\'s webhook receiver', () => {
  it('given a signed delivery, then it is kept with its body, event id, time and a valid signature', () => {
    const inbox = new WebhookInbox();
    const body = delivery('ses_1');
    const received = inbox.receive(body, { signature: sign(body), eventId: 'evt_1' }, SECRET, T0);
    expect(received).toEqual({ receivedAt: '2026-12-02T10:00:00.000Z', eventId: 'evt_1', signatureValid: true, body: JSON.parse(body.toString()) });
    expect(inbox.list()).toEqual([received]);
  });

  it('given a delivery with a bad or missing signature, then it is answered invalid and not kept (forgeries cannot push real ones out)', () => {
    const inbox = new WebhookInbox(2);
    const real = delivery('ses_1');
    inbox.receive(real, { signature: sign(real), eventId: 'evt_real' }, SECRET, at(0));
    const body = delivery('ses_1');
    expect(inbox.receive(body, { signature: sign(body, 'whsec_wrong'), eventId: 'evt_1' }, SECRET, at(1)).signatureValid).toBe(false);
    expect(inbox.receive(body, {}, SECRET, at(2)).signatureValid).toBe(false);
    expect(inbox.receive(body, { signature: sign(body, 'whsec_wrong') }, SECRET, at(3)).signatureValid).toBe(false);
    expect(inbox.list().map((d) => d.eventId)).toEqual(['evt_real']);
  });

  it('given a body that is not JSON, then it is kept with a null body (and its signature still checked over the bytes)', () => {
    const inbox = new WebhookInbox();
    const body = Buffer.from('not json');
    expect(inbox.receive(body, { signature: sign(body) }, SECRET, T0)).toMatchObject({ body: null, signatureValid: true });
  });

  it('given several deliveries, then they are listed newest first', () => {
    const inbox = new WebhookInbox();
    for (const [i, status] of (['OPEN', 'ON_PROGRESS', 'ENDED'] as const).entries()) {
      const body = delivery('ses_1', status);
      inbox.receive(body, { signature: sign(body), eventId: `evt_${i}` }, SECRET, at(i));
    }
    expect(inbox.list().map((d) => d.eventId)).toEqual(['evt_2', 'evt_1', 'evt_0']);
    expect(inbox.list().map((d) => d.receivedAt)).toEqual([at(2).toISOString(), at(1).toISOString(), at(0).toISOString()]);
  });

  it('given more deliveries than its capacity, then only the newest are kept', () => {
    const inbox = new WebhookInbox(3);
    for (let i = 0; i < 5; i++) {
      const body = delivery(`ses_${i}`);
      inbox.receive(body, { signature: sign(body), eventId: `evt_${i}` }, SECRET, at(i));
    }
    expect(inbox.list().map((d) => d.eventId)).toEqual(['evt_4', 'evt_3', 'evt_2']);
  });

  it('keeps 100 deliveries by default', () => {
    const inbox = new WebhookInbox();
    for (let i = 0; i < 101; i++) {
      const body = delivery('ses_1');
      inbox.receive(body, { signature: sign(body), eventId: `evt_${i}` }, SECRET, at(i));
    }
    const listed = inbox.list();
    expect(listed).toHaveLength(100);
    expect(listed.at(0)?.eventId).toBe('evt_100');
    expect(listed.at(-1)?.eventId).toBe('evt_1');
  });

  it('given a session id, then only that session\'s deliveries are listed (newest first)', () => {
    const inbox = new WebhookInbox();
    const deliveries: [string, string][] = [
      ['ses_1', 'evt_a'],
      ['ses_2', 'evt_b'],
      ['ses_1', 'evt_c'],
    ];
    for (const [i, [sessionId, eventId]] of deliveries.entries()) {
      const body = delivery(sessionId);
      inbox.receive(body, { signature: sign(body), eventId }, SECRET, at(i));
    }
    const garbage = Buffer.from('garbage');
    inbox.receive(garbage, { signature: sign(garbage), eventId: 'evt_d' }, SECRET, at(9));
    expect(inbox.list('ses_1').map((d) => d.eventId)).toEqual(['evt_c', 'evt_a']);
    expect(inbox.list('ses_2').map((d) => d.eventId)).toEqual(['evt_b']);
    expect(inbox.list('ses_3')).toEqual([]);
    expect(inbox.list().map((d) => d.eventId)).toEqual(['evt_d', 'evt_c', 'evt_b', 'evt_a']);
  });

  it('answers a copy: changing the list does not change the inbox', () => {
    const inbox = new WebhookInbox();
    const body = delivery('ses_1');
    inbox.receive(body, { signature: sign(body), eventId: 'evt_1' }, SECRET, T0);
    inbox.list().length = 0;
    expect(inbox.list()).toHaveLength(1);
  });
});
