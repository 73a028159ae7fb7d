import { createHash, hkdfSync, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { SecretBox, SecretBoxError } from './secret-box.js';

const KEY = Buffer.alloc(32, 7);
const OTHER_KEY = Buffer.alloc(32, 9);

/** Flips one character of a base64url part (the first, which always carries whole bits). */
const flip = (text: string): string => (text[0] === 'A' ? 'B' : 'A') + text.slice(1);

describe('SecretBox', () => {
  describe('seal and open', () => {
    it('given a secret, when sealed and opened, then the secret comes back', () => {
      const box = SecretBox.fromKey(KEY);
      for (const secret of ['hs256-secret', '', 'ünïcödé ✓ 🔑', 'x'.repeat(10_000)]) expect(box.open(box.seal(secret))).toBe(secret);
    });

    it('seals as v1.<keyId>.<iv>.<ciphertext>.<tag> with a fresh 12-byte iv each time and never the plain text', () => {
      const box = SecretBox.fromKey(KEY);
      const first = box.seal('the-secret');
      const second = box.seal('the-secret');
      const [version, keyId, iv, ciphertext, tag] = first.split('.');
      expect(first.split('.')).toHaveLength(5);
      expect(version).toBe('v1');
      expect(keyId).toBe(box.keyId);
      expect(Buffer.from(iv!, 'base64url')).toHaveLength(12);
      expect(Buffer.from(tag!, 'base64url')).toHaveLength(16);
      expect(Buffer.from(ciphertext!, 'base64url')).toHaveLength('the-secret'.length);
      expect(first).not.toBe(second);
      expect(first).not.toContain('the-secret');
      expect(first).not.toContain(Buffer.from('the-secret').toString('base64url'));
    });

    it('names its key by the first 16 hex of sha256("svp-secret-box-id" + key), and never shows the key', () => {
      const box = SecretBox.fromKey(KEY);
      const expected = createHash('sha256').update(Buffer.concat([Buffer.from('svp-secret-box-id'), KEY])).digest('hex').slice(0, 16);
      expect(box.keyId).toBe(expected);
      expect(SecretBox.fromKey(OTHER_KEY).keyId).not.toBe(expected);
      expect(JSON.stringify(box)).not.toContain(KEY.toString('hex'));
      expect(inspect(box, { showHidden: true })).not.toMatch(/07, 07|<Buffer 07/);
    });

    it('refuses a key that is not 32 bytes', () => {
      expect(() => SecretBox.fromKey(new Uint8Array(16))).toThrow(SecretBoxError);
      expect(() => SecretBox.fromKey(new Uint8Array(33))).toThrow('exactly 32 bytes');
    });
  });

  describe('open refuses', () => {
    const box = SecretBox.fromKey(KEY);
    const sealed = box.seal('hs256-secret');
    const parts = sealed.split('.');
    const withPart = (index: number, value: string) => parts.map((part, i) => (i === index ? value : part)).join('.');

    it.each([
      ['the ciphertext', 3],
      ['the tag', 4],
      ['the iv', 2],
    ])('given %s tampered with, then it fails authentication', (_what, index) => {
      expect(() => box.open(withPart(index, flip(parts[index]!)))).toThrow(/failed authentication: it was tampered with or corrupted/);
    });

    it('given a value sealed under another key, then it names both key ids and asks whether SIGNING_SECRETS_KEY changed', () => {
      const other = SecretBox.fromKey(OTHER_KEY);
      const error = (() => {
        try {
          box.open(other.seal('hs256-secret'));
        } catch (e) {
          return e as Error;
        }
        throw new Error('expected a refusal');
      })();
      expect(error).toBeInstanceOf(SecretBoxError);
      expect(error.message).toBe(
        `The secret was sealed with key ${other.keyId}, this service has key ${box.keyId}: SIGNING_SECRETS_KEY changed?`,
      );
    });

    it('given the key id rewritten to this box key, then the bound key id makes it fail authentication', () => {
      const other = SecretBox.fromKey(OTHER_KEY);
      const moved = other.seal('hs256-secret').split('.');
      moved[1] = box.keyId;
      expect(() => box.open(moved.join('.'))).toThrow(/failed authentication/);
    });

    it.each([
      ['not sealed at all', 'hs256-secret'],
      ['another version', sealed.replace(/^v1\./, 'v2.')],
      ['a missing part', parts.slice(0, 4).join('.')],
      ['a part that is not base64url', withPart(3, 'not base64!')],
    ])('given %s, then it says it is not a sealed secret', (_what, value) => {
      expect(() => box.open(value)).toThrow(/Not a sealed secret/);
    });

    it('given a truncated iv or tag, then it says the value is corrupted', () => {
      expect(() => box.open(withPart(2, parts[2]!.slice(0, 8)))).toThrow(/corrupted: bad iv or tag length/);
      expect(() => box.open(withPart(4, parts[4]!.slice(0, 8)))).toThrow(/corrupted: bad iv or tag length/);
    });
  });

  describe('fromConfig', () => {
    const key = randomBytes(32);

    it('given SIGNING_SECRETS_KEY in base64 (padded), base64 (unpadded) or base64url, then that key is used', () => {
      const expected = SecretBox.fromKey(key).keyId;
      const padded = key.toString('base64');
      for (const text of [padded, padded.replace(/=+$/, ''), key.toString('base64url'), ` ${padded}\n`])
        expect(SecretBox.fromConfig({ secretsKey: text }).keyId).toBe(expected);
    });

    it('given both SIGNING_SECRETS_KEY and a root token, then SIGNING_SECRETS_KEY wins', () => {
      const box = SecretBox.fromConfig({ secretsKey: key.toString('base64'), rootToken: 'root-token' });
      expect(box.keyId).toBe(SecretBox.fromKey(key).keyId);
      expect(box.keyId).not.toBe(SecretBox.fromConfig({ rootToken: 'root-token' }).keyId);
    });

    it('given only a root token, then the key is HKDF-SHA256 of it with info "svp signing secrets v1", stable across instances', () => {
      const derived = Buffer.from(hkdfSync('sha256', 'root-token', Buffer.alloc(0), 'svp signing secrets v1', 32));
      const box = SecretBox.fromConfig({ rootToken: 'root-token' });
      expect(box.keyId).toBe(SecretBox.fromKey(derived).keyId);
      expect(SecretBox.fromConfig({ rootToken: 'root-token' }).open(box.seal('s'))).toBe('s');
      expect(SecretBox.fromConfig({ rootToken: 'another-root-token' }).keyId).not.toBe(box.keyId);
    });

    it('given neither, then it throws a SecretBoxError naming both settings', () => {
      for (const config of [{}, { secretsKey: '', rootToken: '' }, { secretsKey: '   ' }]) {
        expect(() => SecretBox.fromConfig(config)).toThrow(SecretBoxError);
        expect(() => SecretBox.fromConfig(config)).toThrow(/SIGNING_SECRETS_KEY.*PLATFORM_ROOT_TOKEN/);
      }
    });

    it('given a SIGNING_SECRETS_KEY of the wrong size or alphabet, then it refuses without echoing the value', () => {
      for (const bad of [randomBytes(16).toString('base64'), randomBytes(48).toString('base64'), `${'a'.repeat(42)}!!`]) {
        expect(() => SecretBox.fromConfig({ secretsKey: bad, rootToken: 'root-token' })).toThrow(SecretBoxError);
        try {
          SecretBox.fromConfig({ secretsKey: bad });
        } catch (error) {
          expect((error as Error).message).toMatch(/SIGNING_SECRETS_KEY must be 32 random bytes/);
          expect((error as Error).message).not.toContain(bad);
        }
      }
    });
  });
});
