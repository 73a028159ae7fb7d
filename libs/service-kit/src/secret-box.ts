import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';

/**
 * Secrets the platform must use again but never show again (HS256 signing secrets, webhook secrets)
 * are kept encrypted at rest: the platform generates a secret, shows it once, and stores only
 * `seal(secret)`. AES-256-GCM with a random 12-byte iv; the
 * version and key id are bound as additional authenticated data, so a sealed value cannot be moved to
 * another format or key without failing authentication.
 *
 * Sealed text: `v1.<keyId>.<iv b64url>.<ciphertext b64url>.<tag b64url>`.
 */
export class SecretBoxError extends Error {
  override readonly name = 'SecretBoxError';
}

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
/** HKDF `info` when the key is derived from the root token: changing it changes every key id. */
const HKDF_INFO = 'svp signing secrets v1';
/** SIGNING_SECRETS_KEY: 32 bytes are 43 base64 or base64url characters, and one `=` when padded. */
const KEY_TEXT = /^[A-Za-z0-9+/_-]{43}=?$/;
const B64URL = /^[A-Za-z0-9_-]*$/;

export class SecretBox {
  /** The key never leaves the instance (a private field: not enumerable, not in util.inspect or JSON). */
  readonly #key: Buffer;
  /** Short non-secret fingerprint of the key: names it in sealed values and error messages. */
  readonly keyId: string;

  private constructor(key: Buffer) {
    this.#key = key;
    this.keyId = createHash('sha256').update('svp-secret-box-id').update(key).digest('hex').slice(0, 16);
  }

  static fromKey(key32: Uint8Array): SecretBox {
    if (!(key32 instanceof Uint8Array) || key32.length !== KEY_BYTES)
      throw new SecretBoxError(`The secrets key must be exactly ${KEY_BYTES} bytes (got ${key32?.length ?? 0})`);
    return new SecretBox(Buffer.from(key32));
  }

  /**
   * SIGNING_SECRETS_KEY (32 bytes, base64 or base64url) wins; else a key derived from the root token
   * with HKDF-SHA256 (empty salt, info 'svp signing secrets v1'); neither is a configuration error.
   * Messages never echo the configured values.
   */
  static fromConfig(config: { secretsKey?: string; rootToken?: string }): SecretBox {
    const secretsKey = config.secretsKey?.trim();
    if (secretsKey) {
      if (!KEY_TEXT.test(secretsKey))
        throw new SecretBoxError('SIGNING_SECRETS_KEY must be 32 random bytes in base64 or base64url (e.g. `openssl rand -base64 32`)');
      // Node's base64 decoder reads both alphabets; the pattern above has ruled out any other character.
      const key = Buffer.from(secretsKey, 'base64');
      if (key.length !== KEY_BYTES)
        throw new SecretBoxError(`SIGNING_SECRETS_KEY must decode to ${KEY_BYTES} bytes (it decodes to ${key.length})`);
      return new SecretBox(key);
    }
    if (config.rootToken) {
      const key = Buffer.from(hkdfSync('sha256', config.rootToken, Buffer.alloc(0), HKDF_INFO, KEY_BYTES));
      return new SecretBox(key);
    }
    throw new SecretBoxError(
      'No key to encrypt HS256 signing secrets at rest: set SIGNING_SECRETS_KEY (32 random bytes, base64) or PLATFORM_ROOT_TOKEN',
    );
  }

  seal(plain: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(this.aad(this.keyId));
    const ciphertext = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [VERSION, this.keyId, iv.toString('base64url'), ciphertext.toString('base64url'), tag.toString('base64url')].join('.');
  }

  open(sealed: string): string {
    const parts = typeof sealed === 'string' ? sealed.split('.') : [];
    const [version, keyId, ivText, ciphertextText, tagText] = parts;
    if (parts.length !== 5 || version !== VERSION || !parts.slice(2).every((part) => B64URL.test(part)))
      throw new SecretBoxError(`Not a sealed secret (expected ${VERSION}.<keyId>.<iv>.<ciphertext>.<tag>)`);
    if (keyId !== this.keyId)
      throw new SecretBoxError(
        `The secret was sealed with key ${keyId}, this service has key ${this.keyId}: SIGNING_SECRETS_KEY changed?`,
      );
    const iv = Buffer.from(ivText!, 'base64url');
    const tag = Buffer.from(tagText!, 'base64url');
    if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES)
      throw new SecretBoxError(`The sealed secret (key ${keyId}) is corrupted: bad iv or tag length`);
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(this.aad(keyId));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(Buffer.from(ciphertextText!, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretBoxError(`The sealed secret (key ${keyId}) failed authentication: it was tampered with or corrupted`);
    }
  }

  private aad(keyId: string): Buffer {
    return Buffer.from(`${VERSION}.${keyId}`, 'utf8');
  }
}
