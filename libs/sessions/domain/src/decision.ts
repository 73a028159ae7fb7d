import type { ErrorCode } from '@svp/contracts';

/**
 * What every decider of the sessions domain answers: the events to append (none when the command's
 * effect already holds), or an error in the shape of the public error body (DESIGN.md section 5).
 */
export type DomainErrorCode = Extract<ErrorCode, 'CONFLICT' | 'NOT_FOUND' | 'VALIDATION_FAILED'>;

export interface DomainError {
  code: DomainErrorCode;
  message: string;
  details: Record<string, unknown>;
}

export type Decision<E> = { ok: true; events: E[] } | { ok: false; error: DomainError };

export const accept = <E>(events: E[]): Decision<E> => ({ ok: true, events });

export const refuse = <E>(code: DomainErrorCode, message: string, details: Record<string, unknown>): Decision<E> => ({
  ok: false,
  error: { code, message, details },
});

/** The end of every `switch` over a union: a new member is a compile error here. */
export function exhaustive(value: never): never {
  throw new Error(`Unhandled: ${JSON.stringify(value)}`);
}

/** A whole number in [min, max] (or, with max null, at least min). */
export const isCount = (value: number, min = 0, max: number | null = null): boolean =>
  Number.isSafeInteger(value) && value >= min && (max === null || value <= max);
