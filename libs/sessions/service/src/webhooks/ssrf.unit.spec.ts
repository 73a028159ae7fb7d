import { checkWebhookTarget, guardedLookup, nonPublicRange, type ResolvedAddress } from './ssrf.js';

const refusedReason = async (url: string, options = {}) => {
  const result = await checkWebhookTarget(url, options);
  return result.ok ? undefined : result.reason;
};

describe('checkWebhookTarget refuses, unless private targets are allowed', () => {
  it.each([
    ['http://127.0.0.1:8080/hook', /127\.0\.0\.1 is a loopback address/],
    ['http://127.1.2.3/hook', /loopback/],
    ['http://10.1.2.3/hook', /10\.1\.2\.3 is a private address/],
    ['http://172.16.0.9/hook', /private address/],
    ['http://192.168.1.1/hook', /private address/],
    ['http://[::1]/hook', /::1 is a loopback address/],
    ['http://169.254.169.254/latest/meta-data/', /169\.254\.169\.254 is the cloud metadata address/],
    ['http://169.254.10.10/hook', /link-local/],
    ['http://[fe80::1]/hook', /link-local/],
    ['http://[fc00::5]/hook', /unique local/],
    ['http://[fd00:ec2::254]/hook', /cloud metadata/],
    ['http://100.64.0.1/hook', /carrier-grade NAT/],
    ['http://0.0.0.0:4002/hook', /unspecified/],
    ['http://[::]/hook', /unspecified/],
    ['http://224.0.0.1/hook', /multicast/],
    ['http://[::ffff:127.0.0.1]/hook', /loopback/],
    ['http://[::ffff:10.0.0.1]/hook', /private/],
    ['http://[::ffff:169.254.169.254]/hook', /cloud metadata/],
    ['http://[64:ff9b::a00:1]/hook', /private/],
    ['http://[2002:7f00:1::]/hook', /loopback/],
    // The WHATWG URL parser reads these IPv4 spellings as 127.0.0.1 before the check.
    ['http://2130706433/hook', /loopback/],
    ['http://0x7f.1/hook', /loopback/],
  ])('%s', async (url, reason) => {
    expect(await refusedReason(url)).toMatch(reason);
    expect(await refusedReason(url)).toMatch(/WEBHOOKS_ALLOW_PRIVATE_TARGETS=true/);
    expect(await checkWebhookTarget(url, { allowPrivate: true })).toMatchObject({ ok: true });
  });

  it('a host name that resolves to loopback (localhost)', async () => {
    expect(await refusedReason('http://localhost:4002/hook')).toMatch(/localhost \((127\.0\.0\.1|::1)\) is a loopback address/);
    const allowed = await checkWebhookTarget('http://localhost:4002/hook', { allowPrivate: true });
    expect(allowed.ok && allowed.addresses.length).toBeGreaterThan(0);
  });

  it('a host name when any one of its addresses is private', async () => {
    const resolve = async (): Promise<ResolvedAddress[]> => [
      { address: '93.184.216.34', family: 4 },
      { address: '10.0.0.7', family: 4 },
    ];
    expect(await refusedReason('https://hooks.example.com/x', { resolve })).toMatch(/hooks\.example\.com \(10\.0\.0\.7\) is a private address/);
  });

  it('a name that rebinds: public when the subscription is made, loopback at delivery time', async () => {
    let answer = '93.184.216.34';
    const resolve = async (): Promise<ResolvedAddress[]> => [{ address: answer, family: 4 }];
    expect(await checkWebhookTarget('https://rebind.example.com/x', { resolve })).toMatchObject({ ok: true });
    answer = '127.0.0.1';
    expect(await refusedReason('https://rebind.example.com/x', { resolve })).toMatch(/loopback/);
  });
});

describe('checkWebhookTarget refuses in every mode', () => {
  it.each([
    ['ftp://example.com/x', /http or https, not ftp/],
    ['file:///etc/passwd', /http or https/],
    ['https://user:pass@example.com/x', /credentials/],
    ['https://token@example.com/x', /credentials/],
    ['not a url', /not a valid URL/],
  ])('%s', async (url, reason) => {
    expect(await refusedReason(url, { allowPrivate: true })).toMatch(reason);
  });

  it('a host that does not resolve', async () => {
    const resolve = async (): Promise<ResolvedAddress[]> => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND no-such-host.invalid'), { code: 'ENOTFOUND' });
    };
    expect(await refusedReason('https://no-such-host.invalid/x', { allowPrivate: true, resolve })).toBe(
      'the target host no-such-host.invalid does not resolve (ENOTFOUND)',
    );
    expect(await refusedReason('https://empty.example/x', { allowPrivate: true, resolve: async () => [] })).toMatch(/does not resolve/);
  });
});

describe('checkWebhookTarget accepts', () => {
  it('a public address, with the addresses it checked', async () => {
    expect(await checkWebhookTarget('https://93.184.216.34/hook')).toMatchObject({ ok: true, addresses: [{ address: '93.184.216.34', family: 4 }] });
    expect(await checkWebhookTarget('https://[2606:2800:220:1:248:1893:25c8:1946]/hook')).toMatchObject({ ok: true });
    const resolve = async (): Promise<ResolvedAddress[]> => [{ address: '2606:2800:220:1:248:1893:25c8:1946', family: 6 }];
    expect(await checkWebhookTarget('https://hooks.example.com/x', { resolve })).toMatchObject({ ok: true });
  });
});

describe('nonPublicRange', () => {
  it('names the range, and undefined for public unicast', () => {
    expect(nonPublicRange('8.8.8.8')).toBeUndefined();
    expect(nonPublicRange('2001:4860:4860::8888')).toBeUndefined();
    expect(nonPublicRange('64:ff9b::808:808')).toBeUndefined(); // NAT64 of a public address
    expect(nonPublicRange('127.0.0.1')).toBe('loopback');
    expect(nonPublicRange('::ffff:7f00:1')).toBe('loopback');
    expect(nonPublicRange('169.254.169.254')).toBe('cloudMetadata');
    expect(nonPublicRange('255.255.255.255')).toBe('broadcast');
    expect(nonPublicRange('nonsense')).toBe('invalid');
  });
});

describe('guardedLookup (what the dispatcher connects with)', () => {
  const lookup = (hostname: string, options: { all?: boolean; family?: number }, guard: Parameters<typeof guardedLookup>[0]) =>
    new Promise<{ error: Error | null; address: unknown; family?: number }>((resolve) =>
      guardedLookup(guard)(hostname, options as never, (error, address, family) => resolve({ error, address, family })),
    );

  it('answers the resolved addresses when they are public, one or all as asked', async () => {
    const resolve = async (): Promise<ResolvedAddress[]> => [
      { address: '93.184.216.34', family: 4 },
      { address: '2606:2800:220:1:248:1893:25c8:1946', family: 6 },
    ];
    expect(await lookup('hooks.example.com', {}, { resolve })).toEqual({ error: null, address: '93.184.216.34', family: 4 });
    expect(await lookup('hooks.example.com', { all: true }, { resolve })).toMatchObject({ error: null, address: await resolve() });
    expect(await lookup('hooks.example.com', { family: 6 }, { resolve })).toMatchObject({ address: '2606:2800:220:1:248:1893:25c8:1946', family: 6 });
  });

  it('fails the connection when the name resolves to a private address at connect time', async () => {
    const resolve = async (): Promise<ResolvedAddress[]> => [{ address: '127.0.0.1', family: 4 }];
    const result = await lookup('rebind.example.com', { all: true }, { resolve });
    expect(result.error).toMatchObject({ code: 'EWEBHOOKTARGETREFUSED', message: expect.stringMatching(/loopback/) });
    expect((await lookup('rebind.example.com', {}, { resolve, allowPrivate: true })).address).toBe('127.0.0.1');
  });
});
