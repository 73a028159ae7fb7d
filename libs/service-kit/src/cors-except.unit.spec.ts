import { corsExcepted } from './service-app.js';

describe('corsExcepted: the paths served without CORS', () => {
  const except = ['/demo'];

  it('given a path under an excepted prefix, in any spelling the router takes, then it is excepted', () => {
    for (const url of ['/demo', '/demo/config', '/demo/config?x=1', '/%64emo/config', '/%64%65%6d%6f/sign', '/demo%2Fconfig'])
      expect([url, corsExcepted(url, except)]).toEqual([url, true]);
  });

  it('given another path, then it is not; nor is anything when no prefix is excepted', () => {
    for (const url of ['/graphql', '/sdk/widget.js', '/healthz?demo', '/x/demo']) expect([url, corsExcepted(url, except)]).toEqual([url, false]);
    expect(corsExcepted('/demo/config', [])).toBe(false);
  });

  it('given a path that cannot be decoded, then it gets no CORS headers (excepted)', () => {
    expect(corsExcepted('/%E0%A4%A/config', except)).toBe(true);
  });
});
