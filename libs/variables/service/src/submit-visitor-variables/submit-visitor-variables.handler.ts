import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { type SubmitVisitorVariablesBody, VariableName, VariableValue } from '@svp/contracts';
import { AppError, type SignatureVerifier, type StreamWriter } from '@svp/service-kit';
import type { VisitorSubmitSource } from '@svp/variables-domain';
import { decisionError, withConflictAnswer } from '../errors.js';
import type { VariableSettingsReader } from '../settings.js';
import { runVisitorCommand } from '../stores.js';
import { type RevokedKeys, unverifyIfRevoked } from '../revoked-keys.js';
import { REVOKED_KEYS, SETTINGS, SIGNATURE_VERIFIER, STREAM_WRITER } from '../tokens.js';

export class SubmitVisitorVariables {
  constructor(
    readonly orgId: string,
    readonly visitorId: string,
    readonly body: SubmitVisitorVariablesBody,
    /** The caller's own API key: identity checks a signed token against that key's org only. Never logged. */
    readonly apiKey: string,
    /** Who submits (the API key id). */
    readonly setBy: string | undefined,
    readonly correlationId: string | undefined,
    /** Plain data's source: the visitor's own page (a visitor token) is the widget, anyone else the API. */
    readonly plainSource: 'widget' | 'api' = 'api',
  ) {}
}

export interface SubmitVisitorVariablesResult {
  /** Global position of the last event appended (or of the stream's head when nothing changed). */
  position: bigint;
}

/** The longest token identity's signature check accepts (16 KB); a longer one is malformed. */
export const MAX_TOKEN_LENGTH = 16_384;
/** The longest room id or name. */
export const MAX_ROOM_LENGTH = 128;

/** What a submit body asks for: plain data, or a token to verify. Throws 400 VALIDATION_FAILED for a body that mixes them. */
export function submissionOf(body: SubmitVisitorVariablesBody): { signing: 'plain'; data: Record<string, VariableValue> } | { signing: Exclude<SubmitVisitorVariablesBody['signing'], 'plain'>; token: string } {
  const issues: { path: string; message: string }[] = [];
  if (body.signing === 'plain') {
    if (body.data === undefined) issues.push({ path: 'data', message: 'is required with signing "plain"' });
    if (body.token !== undefined) issues.push({ path: 'token', message: 'is only for signed data (signing HS256, RS256 or ES256)' });
  } else {
    if (body.token === undefined || body.token === '') issues.push({ path: 'token', message: `is required with signing "${body.signing}"` });
    if (body.data !== undefined) issues.push({ path: 'data', message: 'must be absent with signed data: the variables are the claims of the token' });
  }
  body.rooms?.forEach((room, i) => {
    const [field, value] = 'id' in room ? (['id', room.id] as const) : (['name', room.name] as const);
    if (value.length === 0 || value.length > MAX_ROOM_LENGTH) issues.push({ path: `rooms.${i}.${field}`, message: `must be 1 to ${MAX_ROOM_LENGTH} characters` });
  });
  const first = issues[0];
  if (first) throw new AppError('VALIDATION_FAILED', `Invalid body: ${first.path}: ${first.message}`, { issues });
  return body.signing === 'plain' ? { signing: 'plain', data: body.data! } : { signing: body.signing, token: body.token! };
}

/**
 * The claims of a verified token as variables: every name must be a variable name and every value
 * a variable value, else 400 VALIDATION_FAILED naming them (nothing is stored).
 */
export function signedVariables(data: Record<string, unknown>): Record<string, VariableValue> {
  const issues: { path: string; message: string }[] = [];
  const variables = new Map<string, VariableValue>();
  for (const [name, value] of Object.entries(data)) {
    const nameCheck = VariableName.safeParse(name);
    if (!nameCheck.success) issues.push({ path: name, message: `is not a valid variable name (${nameCheck.error.issues[0]?.message ?? 'invalid'})` });
    else if (!VariableValue.safeParse(value).success) issues.push({ path: name, message: 'must be a string, a number, a boolean or null' });
    else variables.set(name, value as VariableValue);
  }
  if (issues.length > 0)
    throw new AppError('VALIDATION_FAILED', `The signed data holds claims that cannot be variables: ${issues.map((i) => i.path).join(', ')}`, {
      names: issues.map((i) => i.path),
      issues,
    });
  return Object.fromEntries(variables);
}

/**
 * A giosg-style submit: plain data as given (unverified), or a JWT checked by identity with the
 * org's keys, whose claims (less the registered ones) are the data (verified). A token that fails
 * the check answers 401 INVALID_TOKEN with the reason and stores nothing. Then command → load the
 * visitor's stream → pure decide → append with the revision read (retried on a conflict).
 */
@CommandHandler(SubmitVisitorVariables)
export class SubmitVisitorVariablesHandler implements ICommandHandler<SubmitVisitorVariables, SubmitVisitorVariablesResult> {
  constructor(
    @Inject(STREAM_WRITER) private readonly writer: StreamWriter,
    @Inject(SETTINGS) private readonly settings: VariableSettingsReader,
    @Inject(SIGNATURE_VERIFIER) private readonly signatures: SignatureVerifier,
    @Inject(REVOKED_KEYS) private readonly revokedKeys: RevokedKeys,
  ) {}

  async execute(command: SubmitVisitorVariables): Promise<SubmitVisitorVariablesResult> {
    const submission = submissionOf(command.body);
    let data: Record<string, VariableValue>;
    let source: VisitorSubmitSource;
    let kid: string | undefined;
    if (submission.signing === 'plain') {
      data = submission.data;
      source = command.plainSource;
    } else {
      if (submission.token.length > MAX_TOKEN_LENGTH)
        throw new AppError('INVALID_TOKEN', 'The token did not verify: MALFORMED', { reason: 'MALFORMED', detail: `the token is longer than ${MAX_TOKEN_LENGTH} characters` });
      // I/O before the decision (never inside it: a concurrency retry must not check again).
      const answer = await this.signatures.verifySignature(command.apiKey, submission.token, submission.signing);
      if (!answer.valid) throw new AppError('INVALID_TOKEN', `The token did not verify: ${answer.reason}`, { reason: answer.reason, detail: answer.detail });
      data = signedVariables(answer.data);
      source = 'signed';
      kid = answer.kid;
    }
    const { limits } = await this.settings.get(command.orgId);
    const result = await withConflictAnswer('visitor variables', () =>
      runVisitorCommand(
        this.writer,
        {
          type: 'SubmitVisitorVariables',
          data: {
            orgId: command.orgId,
            visitorId: command.visitorId,
            data,
            source,
            verified: source === 'signed',
            ...(kid ? { kid } : {}),
            replaceExisting: command.body.replaceExisting,
            ...(command.body.rooms ? { rooms: command.body.rooms } : {}),
            ...(command.setBy ? { setBy: command.setBy } : {}),
            now: new Date().toISOString(),
          },
        },
        limits,
        command.correlationId ? { correlationId: command.correlationId } : {},
      ),
    );
    if (!result.ok) throw decisionError(result.error);
    // The key may have been revoked between identity's check and this append (or before a retry of a
    // submit whose first attempt was stored): then un-verified at once (and the answer waits for that too).
    const unverified =
      kid
        ? await unverifyIfRevoked(
            { writer: this.writer, revokedKeys: this.revokedKeys },
            { orgId: command.orgId, visitorId: command.visitorId, kid, limits, now: new Date().toISOString() },
          )
        : undefined;
    return { position: unverified ?? result.position };
  }
}
