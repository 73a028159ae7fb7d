import { VariablesResponse } from '@svp/contracts';
import type { VariablesReadModel } from '../read-model.js';
import type { SessionVariablesDoc } from '../session-variables.projection.js';
import { GetSessionVariables, GetSessionVariablesHandler, toVariableViews } from './get-session-variables.handler.js';

const at = '2026-11-21T10:00:00.000Z';
const claim = (value: string | boolean | null) => ({ value, source: 'claim' as const, verified: true, version: 1, updatedAt: at, setBy: 'claim:k1' });
const unauthenticated = [
  { name: 'providedName', value: null, scope: 'metadata', source: 'claim', verified: false, updatedAt: null, version: 0 },
  { name: 'providedEmail', value: null, scope: 'metadata', source: 'claim', verified: false, updatedAt: null, version: 0 },
  { name: 'authenticatedExternalId', value: null, scope: 'metadata', source: 'claim', verified: false, updatedAt: null, version: 0 },
  { name: 'authenticatedStatus', value: false, scope: 'metadata', source: 'claim', verified: false, updatedAt: null, version: 0 },
];

describe('GET session variables', () => {
  it('given no document (never set, or discarded), then the four metadata entries as unauthenticated, valid for the contract', () => {
    const views = toVariableViews(undefined);
    expect(views).toEqual(unauthenticated);
    expect(VariablesResponse.parse({ variables: views }).variables).toHaveLength(4);
  });

  it('given session variables only, then they come first by name, then the metadata as unauthenticated', () => {
    const doc: SessionVariablesDoc = {
      orgId: 'org1',
      sessionId: 's1',
      variables: {
        id: { value: '6320834868293', source: 'api', verified: false, version: 1, updatedAt: at },
        cart: { value: 43.5, source: 'api', verified: false, version: 2, updatedAt: at },
      },
      metadata: {},
    };
    expect(toVariableViews(doc)).toEqual([
      { name: 'cart', value: 43.5, scope: 'session', source: 'api', verified: false, updatedAt: at, version: 2 },
      { name: 'id', value: '6320834868293', scope: 'session', source: 'api', verified: false, updatedAt: at, version: 1 },
      ...unauthenticated,
    ]);
  });

  it('given an authenticated session, then the metadata shows the verified values', () => {
    const doc: SessionVariablesDoc = {
      orgId: 'org1',
      sessionId: 's1',
      variables: {},
      metadata: {
        providedName: claim('Ann'),
        providedEmail: claim(null),
        authenticatedExternalId: claim('cust-7'),
        authenticatedStatus: claim(true),
      },
    };
    const views = toVariableViews(doc);
    expect(views.map((v) => [v.name, v.value, v.scope, v.verified, v.version])).toEqual([
      ['providedName', 'Ann', 'metadata', true, 1],
      ['providedEmail', null, 'metadata', true, 1],
      ['authenticatedExternalId', 'cust-7', 'metadata', true, 1],
      ['authenticatedStatus', true, 'metadata', true, 1],
    ]);
    expect(VariablesResponse.safeParse({ variables: views }).success).toBe(true);
  });

  it('given a session variable with a metadata name, then the session scope wins the clash', () => {
    const doc: SessionVariablesDoc = {
      orgId: 'org1',
      sessionId: 's1',
      variables: { providedName: { value: 'From the page', source: 'widget', verified: false, version: 1, updatedAt: at } },
      metadata: { providedName: claim('Ann') },
    };
    const named = toVariableViews(doc).filter((v) => v.name === 'providedName');
    expect(named).toEqual([{ name: 'providedName', value: 'From the page', scope: 'session', source: 'widget', verified: false, updatedAt: at, version: 1 }]);
  });

  it('reads the document of the org and session asked for', async () => {
    const asked: string[] = [];
    const readModel: VariablesReadModel = {
      get: async (id) => {
        asked.push(id);
        return undefined;
      },
      waitFor: async () => undefined,
    };
    expect(await new GetSessionVariablesHandler(readModel).execute(new GetSessionVariables('org1', 's1'))).toEqual(unauthenticated);
    expect(asked).toEqual(['org1.s1']);
  });
});
