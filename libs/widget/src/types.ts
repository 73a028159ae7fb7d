// The data the gateway answers with, as the widget hands it to the page. These mirror the gateway's
// GraphQL schema (libs/gateway/service/src/schema.ts) and the zod contracts behind it; they are
// written out here so that the widget's types stand alone in a browser package.

/** A conversation status (Zoho Desk IM). `ENDED` and `BLOCKED` are final. */
export type SessionStatus = 'CREATED' | 'OPEN' | 'ON_HOLD' | 'ON_PROGRESS' | 'ENDED' | 'BLOCKED';

/** Whether messages can be exchanged now (Zoho Desk IM reply statuses). */
export type ReplyStatus =
  | 'ACCEPTED'
  | 'CHANNEL_INACTIVE'
  | 'CHANNEL_REVOKED'
  | 'SESSION_ENDED'
  | 'SESSION_BLOCKED'
  | 'SESSION_EXPIRED'
  | 'UNASSIGNED'
  | 'NOT_AN_ASSIGNEE'
  | 'CREDIT_EXHAUSTED'
  | 'ACCESSTOKEN_EXPIRED'
  | 'PERMISSION_REVOKED'
  | 'UNEXPECTED_ERROR'
  | 'PAGE_REMOVED'
  | 'SANDBOX_LIMIT_REACHED'
  | 'CHANNEL_DELETED'
  | 'ENDUSER_OFFLINE'
  | 'CONFIG_SKIPPED_CHANNEL'
  | 'OUTGOING_LIMIT_REACHED'
  | 'ASSIGNED_TO_OTHER_SERVICE';

/** Who holds the conversation. */
export type AssigneeType = 'AGENT' | 'BOT';

/** Why a session ended. */
export type EndReason = 'logout' | 'timeout' | 'closed' | 'agent' | 'blocked';

/** Where a variable lives: the session, the visitor (across sessions), or identity metadata (read-only). */
export type VariableScope = 'session' | 'visitor' | 'metadata';

/** Who or what set a variable. */
export type VariableSource = 'widget' | 'api' | 'signed' | 'claim' | 'agent' | 'bot';

/** Why a JWT did not verify. */
export type VerificationFailureReason =
  | 'TOKEN_EXPIRED'
  | 'TOKEN_NOT_YET_VALID'
  | 'SIGNATURE_INVALID'
  | 'KID_UNKNOWN'
  | 'KID_REVOKED'
  | 'ALG_NOT_ALLOWED'
  | 'CLAIM_MISSING'
  | 'MALFORMED';

/** The algorithms a signing key can have: what a signed visitor-data JWT may use. */
export type SigningAlg = 'HS256' | 'RS256' | 'ES256';

/** A variable's value keeps its JSON type: `"6320834868293"` stays a string, `42` stays a number. */
export type VariableValue = string | number | boolean | null;

/** `{ name, value }`, the shape of Zoho's `sessionVariableValues`. */
export interface NameValue {
  name: string;
  value: VariableValue;
}

/** One variable with its provenance. */
export interface Variable {
  name: string;
  value: VariableValue;
  scope: VariableScope;
  source: VariableSource;
  /** True only when it came from a verified signature or claim. */
  verified: boolean;
  /** ISO 8601; null for a metadata variable never set (version 0). */
  updatedAt: string | null;
  version: number;
}

/** Identity metadata of a session (Zendesk style): `authenticatedStatus` is always true or false. */
export interface SessionMetadata {
  providedName: string | null;
  providedEmail: string | null;
  authenticatedExternalId: string | null;
  authenticatedStatus: boolean;
}

/** A session as `getSession()` answers it. */
export interface Session {
  sessionId: string;
  orgId: string;
  channelId: string;
  brandId: string | null;
  visitorId: string;
  sessionStatus: SessionStatus;
  sessionOldStatus: SessionStatus | null;
  replyStatus: ReplyStatus;
  currentAssigneeId: string | null;
  assigneeType: AssigneeType | null;
  messagesCount: number;
  /** ISO 8601. */
  startedAt: string;
  endedAt: string | null;
  endReason: EndReason | null;
  visitorOnline: boolean | null;
  metadata: SessionMetadata;
}

/** A visitor: the person across sessions, with the visitor-scope variables (giosg style). */
export interface Visitor {
  visitorId: string;
  /** `"Visitor"` until the key `username` is submitted. */
  displayName: string;
  variables: Variable[];
}

/** The outcome of `authenticate` (Zendesk messaging JWT). */
export interface Authentication {
  authenticated: boolean;
  externalId: string | null;
  name: string | null;
  email: string | null;
  /** The verified custom claims (empty when not authenticated). */
  claims: Record<string, unknown>;
  /** Why the token did not verify (only when `authenticated` is false). */
  reason: VerificationFailureReason | null;
  detail: string | null;
}

/** A room by id or by name. */
export type RoomInput = { id: string } | { name: string };

/**
 * An IM_Session_Status change (the fields of the webhook), pushed live. The first one a listener
 * gets, and the first after each reconnect, is the session's current state (`eventId` null).
 */
export interface SessionStatusEvent {
  /** The integration event's id; null for the current state sent first. */
  eventId: string | null;
  sessionId: string;
  orgId: string;
  sessionStatus: SessionStatus;
  sessionOldStatus: SessionStatus | null;
  replyStatus: ReplyStatus;
  currentAssigneeId: string | null;
  assigneeType: AssigneeType | null;
  messagesCount: number;
  channelId: string;
  /** ISO 8601. */
  eventTime: string;
  eventType: string;
}

/** One change a `VariablesChangedEvent` carried. */
export interface VariableChange {
  name: string;
  value: VariableValue;
  scope: VariableScope;
  source: VariableSource;
  verified: boolean;
  version: number;
}

/** What changed in a session's variables; CURRENT is not a change but the state sent first. */
export type VariablesChangeKind = 'CURRENT' | 'SESSION_CHANGED' | 'VISITOR_CHANGED' | 'DISCARDED' | 'ERASED';

/**
 * A change of the session's variables (its visitor's included), pushed live. The first one a
 * listener gets, and the first after each reconnect, is kind CURRENT: the variables as they are, so
 * nothing changed while the socket was down stays unseen.
 */
export interface VariablesChangedEvent {
  /** The integration event's id; null for CURRENT. */
  eventId: string | null;
  sessionId: string;
  kind: VariablesChangeKind;
  /** ISO 8601. */
  occurredAt: string;
  /** The changes the event carried (empty for DISCARDED and ERASED). */
  changes: VariableChange[];
  /** Visitor variable names a replacing submit removed. */
  removed: string[];
  /** The visitor's display name, when the change set it. */
  displayName: string | null;
  /** Every variable of the session once the change is visible. */
  variables: Variable[];
}
