import { VisitorTokens } from './visitor-tokens.js';

const principal = { orgId: 'org_1', sessionId: 'ses_1', visitorId: 'vis_1' };
const t0 = new Date('2026-12-02T10:00:00.000Z');
const later = (seconds: number) => new Date(t0.getTime() + seconds * 1000);

describe('visitor tokens', () => {
  const tokens = VisitorTokens.fromConfig({ rootToken: 'root_token_of_this_platform_1234' });

  it('given a minted token, when verified before it expires, then it names its org, session and visitor', async () => {
    const { token, expiresAt } = await tokens.mint(principal, 900, t0);
    expect(token).toMatch(/^svpv_[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(expiresAt).toBe('2026-12-02T10:15:00.000Z');
    expect(await tokens.verify(token, { now: later(899) })).toEqual({ ...principal, expiresAt: new Date(expiresAt), expired: false });
  });

  it('given an expired token, then it verifies only within the grace asked for (a returning visitor), marked expired', async () => {
    const { token } = await tokens.mint(principal, 60, t0);
    expect(await tokens.verify(token, { now: later(61) })).toBeUndefined();
    expect(await tokens.verify(token, { now: later(3600), acceptExpiredForSeconds: 86_400 })).toMatchObject({ ...principal, expired: true });
    expect(await tokens.verify(token, { now: later(2 * 86_400), acceptExpiredForSeconds: 86_400 })).toBeUndefined();
  });

  it('given a token of another platform (another key), a tampered one or something else, then it is no token', async () => {
    const { token } = await tokens.mint(principal, 900, t0);
    const otherPlatform = VisitorTokens.fromConfig({ rootToken: 'another_platform_root_token_5678' });
    expect(await otherPlatform.verify(token, { now: t0 })).toBeUndefined();
    const [head, payload, signature] = token.slice(5).split('.');
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), sid: 'ses_other' })).toString('base64url');
    expect(await tokens.verify(`svpv_${head}.${forged}.${signature}`, { now: t0 })).toBeUndefined();
    expect(await tokens.verify(token.slice(5), { now: t0 })).toBeUndefined();
    expect(await tokens.verify('svpv_not.a.jwt', { now: t0 })).toBeUndefined();
  });

  it('derives the same key from the same SIGNING_SECRETS_KEY in every service, another from the root token', async () => {
    const secretsKey = Buffer.alloc(32, 7).toString('base64');
    const a = VisitorTokens.fromConfig({ secretsKey, rootToken: 'root_token_of_this_platform_1234' });
    const b = VisitorTokens.fromConfig({ secretsKey });
    const { token } = await a.mint(principal, 900, t0);
    expect(await b.verify(token, { now: t0 })).toMatchObject(principal);
    expect(await tokens.verify(token, { now: t0 })).toBeUndefined();
    expect(() => VisitorTokens.fromConfig({})).toThrow(/SIGNING_SECRETS_KEY or PLATFORM_ROOT_TOKEN/);
  });
});
