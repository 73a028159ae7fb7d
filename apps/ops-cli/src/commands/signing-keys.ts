import type { SigningKeyView } from '@svp/contracts';
import type { Context } from '../context.js';
import { table } from '../output.js';

interface RotatedKey {
  kid: string;
  alg: string;
  secret?: string;
  brandId?: string;
  createdAt: string;
  replaces: string;
  graceUntil: string;
}

const path = (kid: string) => `/v1/signing-keys/${encodeURIComponent(kid)}`;

/** `signing-keys list`: the org's keys and their status (active, retiring, retired, revoked). */
export async function signingKeysList(ctx: Context): Promise<number> {
  const { body } = await ctx.client.json<{ signingKeys: SigningKeyView[] }>('identity', '/v1/signing-keys', { auth: 'apiKey' });
  ctx.out.result(body, () =>
    table(
      ['KID', 'ALG', 'STATUS', 'BRAND', 'CREATED', 'GRACE UNTIL', 'REPLACED BY', 'REVOKED'],
      body.signingKeys.map((k) => [k.kid, k.alg, k.status, k.brandId, k.createdAt, k.graceUntil, k.replacedBy, k.revokedAt]),
    ),
  );
  return 0;
}

/**
 * `signing-keys rotate <kid>`: a new key replaces it; the old one stays valid for the grace period.
 * An HS256 key's new secret is in the answer, shown this once.
 */
export async function signingKeysRotate(
  ctx: Context,
  kid: string,
  options: { graceSeconds?: number; publicKey?: string; jwks?: unknown; newKid?: string },
): Promise<number> {
  const body = {
    ...(options.graceSeconds !== undefined ? { graceSeconds: options.graceSeconds } : {}),
    ...(options.publicKey !== undefined ? { publicKey: options.publicKey } : {}),
    ...(options.jwks !== undefined ? { jwks: options.jwks } : {}),
    ...(options.newKid !== undefined ? { kid: options.newKid } : {}),
  };
  const { body: rotated } = await ctx.client.json<RotatedKey>('identity', `${path(kid)}/rotate`, { method: 'POST', auth: 'apiKey', body });
  ctx.out.result(rotated, () =>
    [
      `${rotated.replaces} rotated: ${rotated.kid} (${rotated.alg}) replaces it; ${rotated.replaces} stays valid until ${rotated.graceUntil}`,
      ...(rotated.secret ? [`secret of ${rotated.kid} (shown only now; its UTF-8 bytes are the HMAC key): ${rotated.secret}`] : []),
    ].join('\n'),
  );
  return 0;
}

/** `signing-keys revoke <kid>`: refused at once by every verification; what it signed is no longer verified. */
export async function signingKeysRevoke(ctx: Context, kid: string): Promise<number> {
  const { body } = await ctx.client.json<SigningKeyView>('identity', path(kid), { method: 'DELETE', auth: 'apiKey' });
  ctx.out.result(body, () => `${body.kid} revoked${body.revokedAt ? ` at ${body.revokedAt}` : ''} (status ${body.status})`);
  return 0;
}
