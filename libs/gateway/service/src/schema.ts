import {
  AssigneeType,
  EndReason,
  ReplyStatus,
  SessionStatus,
  VERIFICATION_FAILURE_REASONS,
  VariableChangeKind,
  VariableScope,
  VariableSource,
} from '@svp/contracts';

const enumOf = (name: string, values: readonly string[], description: string) => `"""${description}"""\nenum ${name} {\n${values.map((v) => `  ${v}`).join('\n')}\n}`;

/**
 * The gateway's GraphQL schema (DESIGN.md section 5). Its enums come from the zod contracts, so a
 * status or reason added there is one here too. Every field that reaches a service is resolved with
 * the caller's own credential: the services decide what it may see.
 */
export const typeDefs = /* GraphQL */ `
"""A variable's value: a string, a number, a boolean or null (it keeps its type: "42" stays a string)."""
scalar VariableValue
"""A JSON object (visitor data: names to variable values; custom claims)."""
scalar JSONObject
"""An ISO 8601 instant with an offset, e.g. 2026-12-02T10:00:00.000Z."""
scalar DateTime

${enumOf('SessionStatus', SessionStatus.options, 'A conversation status (Zoho Desk IM).')}
${enumOf('ReplyStatus', ReplyStatus.options, 'Whether messages can be exchanged now.')}
${enumOf('AssigneeType', AssigneeType.options, 'Who holds the conversation.')}
${enumOf('EndReason', EndReason.options, 'Why a session ended.')}
${enumOf('VariableScope', VariableScope.options, 'Where a variable lives: the session, the visitor (across sessions), or identity metadata (read-only).')}
${enumOf('VariableSource', VariableSource.options, 'Who or what set a variable.')}
${enumOf('VariableChangeKind', VariableChangeKind.options, 'What a change in a variable\'s history was.')}
${enumOf('VerificationFailureReason', VERIFICATION_FAILURE_REASONS, 'Why a JWT did not verify.')}
${enumOf('Signing', ['plain', 'HS256', 'RS256', 'ES256'], 'How visitor data is vouched for: plain (unverified) or a JWT signed with one of the org\'s keys.')}
${enumOf('SessionEventType', ['ROUTED', 'ASSIGNED', 'MESSAGE', 'HOLD', 'END', 'BLOCK', 'PRESENCE'], 'A lifecycle event (POST /v1/sessions/{id}/events).')}
${enumOf('MessageFrom', ['VISITOR', 'AGENT', 'BOT'], 'Who sent a message.')}

"""One variable with its provenance."""
type Variable {
  name: String!
  value: VariableValue
  scope: VariableScope!
  source: VariableSource!
  """True only when it came from a verified signature or claim."""
  verified: Boolean!
  """Null for a metadata variable never set (version 0)."""
  updatedAt: DateTime
  version: Int!
}

"""Identity metadata of a session (Zendesk style): authenticatedStatus is always true or false."""
type SessionMetadata {
  providedName: String
  providedEmail: String
  authenticatedExternalId: String
  authenticatedStatus: Boolean!
}

type Session {
  id: ID!
  sessionId: ID!
  orgId: ID!
  channelId: ID!
  brandId: ID
  visitorId: ID!
  sessionStatus: SessionStatus!
  sessionOldStatus: SessionStatus
  replyStatus: ReplyStatus!
  currentAssigneeId: ID
  assigneeType: AssigneeType
  messagesCount: Int!
  startedAt: DateTime!
  endedAt: DateTime
  endReason: EndReason
  visitorOnline: Boolean
  """Session, visitor and metadata variables together (session scope wins a name clash); room adds visitor data limited to that room."""
  variables(room: String): [Variable!]!
  metadata: SessionMetadata!
  visitor: Visitor!
}

type Visitor {
  id: ID!
  visitorId: ID!
  """"Visitor" until the key username is submitted."""
  displayName: String!
  variables(room: String): [Variable!]!
}

"""One entry of a variable's history: the value it had from then on, and who or what set it."""
type VariableHistoryEntry {
  name: String!
  value: VariableValue
  scope: VariableScope!
  source: VariableSource!
  verified: Boolean!
  updatedAt: DateTime
  version: Int!
  setBy: String
  eventId: ID!
  change: VariableChangeKind!
}

type VariableHistory {
  name: String!
  history: [VariableHistoryEntry!]!
}

type Query {
  """A session of the caller's org; null when there is none with this id."""
  session(id: ID!): Session
  visitor(id: ID!, room: String): Visitor
  """A session's variables now, or as of a past time (read from the event store)."""
  sessionVariables(sessionId: ID!, room: String, asOf: DateTime): [Variable!]!
  variableHistory(sessionId: ID!, name: String!): VariableHistory!
}

input NameValueInput {
  name: String!
  value: VariableValue
}

"""A room by id or by name (give one of them)."""
input RoomInput {
  id: String
  name: String
}

type StartSessionPayload {
  sessionId: ID!
  visitorId: ID!
  sessionStatus: SessionStatus!
  """A short-lived token scoped to this session and its visitor: what a browser holds instead of an org key."""
  visitorToken: String!
  visitorTokenExpiresAt: DateTime!
  session: Session!
}

type VisitorTokenPayload {
  sessionId: ID!
  visitorId: ID!
  visitorToken: String!
  visitorTokenExpiresAt: DateTime!
}

type Authentication {
  authenticated: Boolean!
  externalId: String
  name: String
  email: String
  claims: JSONObject!
  """Why the token did not verify (authenticated false)."""
  reason: VerificationFailureReason
  detail: String
  session: Session
}

type Mutation {
  """
  Starts a session. An org key with sessions:write may name the visitor; a widget key (scope widget)
  may not, and proves a returning visitor with an earlier visitorToken instead.
  """
  startSession(channelId: ID!, visitorId: ID, brandId: ID, sessionVariableValues: [NameValueInput!], visitorToken: String): StartSessionPayload!
  """Merges session variables (same name overwrites); answers every variable of the session."""
  setSessionVariables(sessionId: ID!, values: [NameValueInput!]!): [Variable!]!
  """Visitor variables (giosg style): plain data, or a signed JWT in token; replaceExisting true replaces everything."""
  submitVisitorVariables(visitorId: ID!, data: JSONObject, signing: Signing!, token: String, replaceExisting: Boolean!, rooms: [RoomInput!]): Visitor!
  """Verifies a messaging JWT for the session; its verified claims become the metadata variables."""
  authenticate(sessionId: ID!, token: String!): Authentication!
  """Ends the session; its session variables are discarded."""
  endSession(sessionId: ID!, reason: EndReason!): Session!
  """Drives the lifecycle (ASSIGNED needs assigneeId and assigneeType, MESSAGE needs from, PRESENCE needs online)."""
  recordSessionEvent(sessionId: ID!, type: SessionEventType!, assigneeId: ID, assigneeType: AssigneeType, from: MessageFrom, actorId: ID, online: Boolean): Session!
  """A fresh visitor token for a live session (before the one held expires)."""
  refreshVisitorToken(sessionId: ID!): VisitorTokenPayload!
}

"""An IM_Session_Status change (the fields of the webhook)."""
type SessionStatusEvent {
  """The integration event's id; null for the current state a subscription with includeCurrent starts with."""
  eventId: ID
  sessionId: ID!
  orgId: ID!
  sessionStatus: SessionStatus!
  sessionOldStatus: SessionStatus
  replyStatus: ReplyStatus!
  currentAssigneeId: ID
  assigneeType: AssigneeType
  messagesCount: Int!
  channelId: ID!
  eventTime: DateTime!
  eventType: String!
}

"""What changed in a session's variables."""
enum VariablesChangeKind {
  """Not a change: the current variables, first of a subscription with includeCurrent."""
  CURRENT
  """Session or metadata variables were set."""
  SESSION_CHANGED
  """The session's visitor's variables were submitted (merged or replaced)."""
  VISITOR_CHANGED
  """The session ended: its session variables and metadata were discarded."""
  DISCARDED
  """The visitor was erased."""
  ERASED
}

type VariableChange {
  name: String!
  value: VariableValue
  scope: VariableScope!
  source: VariableSource!
  verified: Boolean!
  version: Int!
}

type VariablesChangedEvent {
  """The integration event's id; null for CURRENT."""
  eventId: ID
  sessionId: ID!
  kind: VariablesChangeKind!
  occurredAt: DateTime!
  """The changes the event carried (empty for DISCARDED and ERASED)."""
  changes: [VariableChange!]!
  """Visitor variable names a replacing submit removed."""
  removed: [String!]!
  """The visitor's display name, when the change set it."""
  displayName: String
  """Every variable of the session once the change is visible (what a console shows)."""
  variables: [Variable!]!
}

type Subscription {
  """
  Every status change of the session, live (from sessions.events.v1). With includeCurrent, the
  session's current state comes first (eventId null), with no gap between it and the changes.
  A subscriber 500 events behind gets LIMIT_EXCEEDED (subscriptionQueue) and the subscription ends.
  """
  sessionStatusChanged(sessionId: ID!, includeCurrent: Boolean = false): SessionStatusEvent!
  """
  Every change of the session's variables, its visitor's included, live (from variables.events.v1).
  With includeCurrent, the current variables come first (kind CURRENT), with no gap after them.
  Needs variables:read; visitor data limited to rooms is left out. A subscriber 500 events behind
  gets LIMIT_EXCEEDED (subscriptionQueue) and the subscription ends: subscribe again.
  """
  variablesChanged(sessionId: ID!, includeCurrent: Boolean = false): VariablesChangedEvent!
}
`;
