// The GraphQL operations the clients send, checked against the gateway's schema: the widget SDK's
// (libs/widget/src/documents.ts) and the demo console's (the documents in the demo page's script).
// A field renamed or an argument retyped on one side fails here, not in a browser.
import { ConfigEnv } from '@svp/contracts';
import { typeDefs } from '@svp/gateway-service';
import { Kind, type OperationDefinitionNode, buildSchema, parse, validate } from 'graphql';
import { prepare, validationRules } from '../../libs/gateway/service/src/execution.js';
import { demoScript } from '../../libs/gateway/service/src/demo/page.js';
import { DOCUMENTS } from '../../libs/widget/src/documents.js';

const schema = buildSchema(typeDefs);

/** The gateway's limits as deployed by default (GRAPHQL_MAX_DEPTH, GRAPHQL_MAX_COST, GRAPHQL_MAX_SERVICE_CALLS), introspection off. */
const defaultLimits = {
  maxDepth: ConfigEnv.shape.GRAPHQL_MAX_DEPTH.parse(undefined),
  maxCost: ConfigEnv.shape.GRAPHQL_MAX_COST.parse(undefined),
  introspection: false,
  maxServiceCalls: ConfigEnv.shape.GRAPHQL_MAX_SERVICE_CALLS.parse(undefined),
};
const defaultRules = validationRules(defaultLimits);

/**
 * The documents the demo script sends: each `agent.request(` / `agent.subscribe(` call's first
 * argument, a single-quoted literal possibly joined (`+`) with the script's string constants
 * (`const SESSION_FIELDS = '…';`).
 */
function demoDocuments(script: string): string[] {
  const constants = new Map<string, string>();
  for (const [, name, value] of script.matchAll(/^const ([A-Z_]+) = '([^'\n]*)';$/gm)) constants.set(name!, value!);
  const part = String.raw`(?:'[^'\n]*'|[A-Z_]+)`;
  const calls = new RegExp(String.raw`agent\.(?:request|subscribe)\(\s*(${part}(?:\s*\+\s*${part})*)\s*,`, 'g');
  return [...script.matchAll(calls)].map(([, expression]) =>
    expression!
      .split(/\s*\+\s*/)
      .map((piece) => {
        if (piece.startsWith("'")) return piece.slice(1, -1);
        const value = constants.get(piece);
        if (value === undefined) throw new Error(`the demo script joins ${piece}, which is not one of its string constants`);
        return value;
      })
      .join(''),
  );
}

const operationsOf = (document: string) =>
  parse(document).definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);

describe('the widget SDK\'s operations (libs/widget/src/documents.ts)', () => {
  it('covers every query, mutation and subscription the widget sends', () => {
    expect(Object.keys(DOCUMENTS).sort()).toEqual(
      [
        'AUTHENTICATE',
        'END_SESSION',
        'REFRESH_VISITOR_TOKEN',
        'SESSION_QUERY',
        'SESSION_STATUS_CHANGED',
        'SESSION_VARIABLES',
        'SET_SESSION_VARIABLES',
        'START_SESSION',
        'SUBMIT_VISITOR_VARIABLES',
        'VARIABLES_CHANGED',
        'VISITOR_QUERY',
      ].sort(),
    );
  });

  it.each(Object.entries(DOCUMENTS))('%s is one named operation that validates against the gateway schema', (_name, document) => {
    expect(operationsOf(document)).toHaveLength(1);
    expect(validate(schema, parse(document)).map((e) => e.message)).toEqual([]);
  });

  it.each(Object.entries(DOCUMENTS))('%s passes the gateway\'s default depth and cost limits', (_name, document) => {
    const prepared = prepare(schema, defaultRules, { query: document }, defaultLimits.maxServiceCalls);
    expect(prepared.ok ? [] : prepared.errors.map((e) => e.message)).toEqual([]);
  });
});

describe('the demo console\'s operations (libs/gateway/service/src/demo/page.ts)', () => {
  const documents = demoDocuments(demoScript);

  it('finds a document for every request and subscription the console makes', () => {
    const calls = demoScript.match(/agent\.(?:request|subscribe)\(/g) ?? [];
    expect(calls.length).toBeGreaterThanOrEqual(4);
    expect(documents).toHaveLength(calls.length);
    expect(documents.map((d) => operationsOf(d)[0]?.operation).sort()).toEqual(['mutation', 'query', 'subscription', 'subscription']);
  });

  it('joins the script\'s field lists into the subscriptions', () => {
    expect(documents.find((d) => d.includes('sessionStatusChanged'))).toMatch(/\{ eventId sessionId sessionStatus .*messagesCount \} \}$/);
    expect(documents.find((d) => d.includes('variablesChanged'))).toMatch(/variables \{ name value scope source verified version updatedAt \}/);
  });

  it('validates every one against the gateway schema, within the default limits', () => {
    for (const document of documents) {
      expect({ document, errors: validate(schema, parse(document)).map((e) => e.message) }).toEqual({ document, errors: [] });
      const prepared = prepare(schema, defaultRules, { query: document }, defaultLimits.maxServiceCalls);
      expect({ document, errors: prepared.ok ? [] : prepared.errors.map((e) => e.message) }).toEqual({ document, errors: [] });
    }
  });
});

describe('the check itself', () => {
  it('given an operation that drifted from the schema (a renamed field, a wrong argument type), then validation reports it', () => {
    const drifted = DOCUMENTS.SESSION_QUERY.replace('sessionStatus', 'status');
    expect(validate(schema, parse(drifted)).map((e) => e.message)).toEqual(['Cannot query field "status" on type "Session".']);
    const retyped = DOCUMENTS.END_SESSION.replace('$reason: EndReason!', '$reason: String!');
    expect(validate(schema, parse(retyped)).map((e) => e.message)).toEqual(['Variable "$reason" of type "String!" used in position expecting type "EndReason!".']);
  });

  it('given a demo script joining a name that is not one of its constants, then the extraction says so', () => {
    expect(() => demoDocuments("agent.request('query { session(id: \"s\") { ' + MISSING + ' } }', {});")).toThrow(/MISSING/);
  });
});
