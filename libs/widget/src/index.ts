/**
 * `@svp/widget`: the browser SDK a business pastes into its page. It starts (or resumes) a visitor's
 * session on the platform's GraphQL gateway with a widget key, then works only with the session's
 * short-lived visitor token: session variables (Zoho), visitor variables (giosg), a messaging JWT
 * (Zendesk), live status and variable changes. See docs/widget.md.
 *
 * @example
 * import { init } from 'http://localhost:4000/sdk/widget.js';
 * const widget = await init({ apiUrl: 'http://localhost:4000', widgetKey: 'svp_…', channelId: 'web' });
 * await widget.triggerEvent('setVariable', { sessionVariableValues: [{ name: 'UserName', value: 'John' }] });
 *
 * @packageDocumentation
 */
export { init } from './widget.js';
export type { InitOptions, SetVariablePayload, VisitorData, Widget, WidgetEvents, WidgetVisitor } from './widget.js';
export { connect } from './connect.js';
export type { ConnectOptions, GatewayConnection, SubscriptionHandlers } from './connect.js';
export { WidgetError } from './errors.js';
export type { GraphQLErrorBody, WidgetErrorCode, WidgetErrorInit } from './errors.js';
export type { StoredSession, WidgetStorage } from './storage.js';
export type { FetchLike, ResponseLike } from './transport.js';
export type * from './types.js';
