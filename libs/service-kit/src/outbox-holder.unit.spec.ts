import { hostname } from 'node:os';
import { outboxHolderId } from './workers.js';

describe('outboxHolderId (who holds an outbox relay lease)', () => {
  it("given the service's port in its config, then it is the host and that port: a restart on the same port takes its own lease back", () => {
    expect(outboxHolderId('variables', { VARIABLES_PORT: 4003, SESSIONS_PORT: 4002 })).toBe(`${hostname()}:4003`);
    expect(outboxHolderId('sessions', { VARIABLES_PORT: 4003, SESSIONS_PORT: 4002 })).toBe(`${hostname()}:4002`);
  });

  it('given OUTBOX_HOLDER_ID, then it wins; given no config or port 0, then none (the relay picks a random one)', () => {
    expect(outboxHolderId('variables', { VARIABLES_PORT: 4003, OUTBOX_HOLDER_ID: 'pod-7' })).toBe('pod-7');
    expect(outboxHolderId('variables', undefined)).toBeUndefined();
    // Port 0 (a free port picked at start) would give every instance the same id.
    expect(outboxHolderId('variables', { VARIABLES_PORT: 0 })).toBeUndefined();
  });
});
