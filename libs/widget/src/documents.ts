// The GraphQL operations the widget sends (the gateway's schema: libs/gateway/service/src/schema.ts).

const VARIABLE = 'name value scope source verified updatedAt version';
const SESSION =
  'sessionId orgId channelId brandId visitorId sessionStatus sessionOldStatus replyStatus currentAssigneeId assigneeType messagesCount startedAt endedAt endReason visitorOnline metadata { providedName providedEmail authenticatedExternalId authenticatedStatus }';
const VISITOR = `visitorId displayName variables { ${VARIABLE} }`;

export const START_SESSION = `mutation StartSession($channelId: ID!, $brandId: ID, $sessionVariableValues: [NameValueInput!], $visitorToken: String) {
  startSession(channelId: $channelId, brandId: $brandId, sessionVariableValues: $sessionVariableValues, visitorToken: $visitorToken) {
    sessionId visitorId sessionStatus visitorToken visitorTokenExpiresAt
  }
}`;

export const SESSION_QUERY = `query Session($id: ID!) { session(id: $id) { ${SESSION} } }`;

export const SESSION_VARIABLES = `query SessionVariables($sessionId: ID!, $room: String) { sessionVariables(sessionId: $sessionId, room: $room) { ${VARIABLE} } }`;

export const VISITOR_QUERY = `query Visitor($id: ID!, $room: String) { visitor(id: $id, room: $room) { ${VISITOR} } }`;

export const SET_SESSION_VARIABLES = `mutation SetSessionVariables($sessionId: ID!, $values: [NameValueInput!]!) {
  setSessionVariables(sessionId: $sessionId, values: $values) { ${VARIABLE} }
}`;

export const SUBMIT_VISITOR_VARIABLES = `mutation SubmitVisitorVariables($visitorId: ID!, $data: JSONObject, $signing: Signing!, $token: String, $replaceExisting: Boolean!, $rooms: [RoomInput!]) {
  submitVisitorVariables(visitorId: $visitorId, data: $data, signing: $signing, token: $token, replaceExisting: $replaceExisting, rooms: $rooms) { ${VISITOR} }
}`;

export const AUTHENTICATE = `mutation Authenticate($sessionId: ID!, $token: String!) {
  authenticate(sessionId: $sessionId, token: $token) { authenticated externalId name email claims reason detail }
}`;

export const END_SESSION = `mutation EndSession($sessionId: ID!, $reason: EndReason!) { endSession(sessionId: $sessionId, reason: $reason) { sessionId sessionStatus } }`;

export const REFRESH_VISITOR_TOKEN = `mutation RefreshVisitorToken($sessionId: ID!) {
  refreshVisitorToken(sessionId: $sessionId) { sessionId visitorId visitorToken visitorTokenExpiresAt }
}`;

export const SESSION_STATUS_CHANGED = `subscription SessionStatusChanged($sessionId: ID!) {
  sessionStatusChanged(sessionId: $sessionId, includeCurrent: true) {
    eventId sessionId orgId sessionStatus sessionOldStatus replyStatus currentAssigneeId assigneeType messagesCount channelId eventTime eventType
  }
}`;

export const VARIABLES_CHANGED = `subscription VariablesChanged($sessionId: ID!) {
  variablesChanged(sessionId: $sessionId, includeCurrent: true) {
    eventId sessionId kind occurredAt changes { name value scope source verified version } removed displayName variables { ${VARIABLE} }
  }
}`;

/** Every operation, for a check against the gateway's schema. */
export const DOCUMENTS = {
  START_SESSION,
  SESSION_QUERY,
  SESSION_VARIABLES,
  VISITOR_QUERY,
  SET_SESSION_VARIABLES,
  SUBMIT_VISITOR_VARIABLES,
  AUTHENTICATE,
  END_SESSION,
  REFRESH_VISITOR_TOKEN,
  SESSION_STATUS_CHANGED,
  VARIABLES_CHANGED,
} as const;
