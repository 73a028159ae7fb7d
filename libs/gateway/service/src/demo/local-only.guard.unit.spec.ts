import { hostnameOf, isLocalRequest } from './local-only.guard.js';

describe('the demo answers only on this machine', () => {
  it('given a loopback client naming localhost or 127.0.0.1 (any port), then it is local', () => {
    for (const [address, host] of [
      ['127.0.0.1', 'localhost:4000'],
      ['127.0.0.1', '127.0.0.1:4000'],
      ['::1', '[::1]:4000'],
      ['::ffff:127.0.0.1', 'localhost'],
      ['127.0.0.1', 'shop.localhost:4000'],
    ])
      expect(isLocalRequest(address, host)).toBe(true);
  });

  it('given a client on the network, then it is refused whatever Host it names', () => {
    for (const address of ['192.168.1.20', '10.0.0.5', '::ffff:192.168.1.20', 'fe80::1', undefined]) expect(isLocalRequest(address, 'localhost:4000')).toBe(false);
  });

  it('given a loopback client naming another host (DNS rebinding: a site pointed at 127.0.0.1), then it is refused', () => {
    for (const host of ['evil.example:4000', 'evil.example', '127.0.0.1.evil.example', 'localhost.evil.example', '', undefined]) expect(isLocalRequest('127.0.0.1', host)).toBe(false);
  });

  it('reads the host name of a Host header', () => {
    expect([hostnameOf('LocalHost:4000'), hostnameOf('[::1]:4000'), hostnameOf('127.0.0.1'), hostnameOf('a:b:c'), hostnameOf(undefined)]).toEqual(['localhost', '[::1]', '127.0.0.1', undefined, undefined]);
  });
});
