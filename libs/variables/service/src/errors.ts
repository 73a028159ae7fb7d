import { WrongExpectedRevisionError } from '@svp/event-store';
import { AppError } from '@svp/service-kit';
import type { DecisionError } from '@svp/variables-domain';

/**
 * A refused command as the HTTP answer: its code, message and details (which name the limit or the
 * names at fault). A variable limit is bad input, so LIMIT_EXCEEDED answers 400 here.
 */
export function decisionError(error: DecisionError): AppError {
  return new AppError(error.code, error.message, error.details, error.code === 'LIMIT_EXCEEDED' ? 400 : undefined);
}

/** Runs a write; a conflict that outlasted the retries (another process kept writing) answers 409. */
export async function withConflictAnswer<T>(what: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (error instanceof WrongExpectedRevisionError)
      throw new AppError('CONFLICT', `The ${what} changed concurrently too often; retry`, { expected: String(error.expected), actual: String(error.actual) });
    throw error;
  }
}
