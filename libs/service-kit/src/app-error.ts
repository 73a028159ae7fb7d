import { ERROR_STATUS, type ErrorBody, type ErrorCode } from '@svp/contracts';

/** An error with a public code: the exception filter turns it into the contract's error body. */
export class AppError extends Error {
  override readonly name = 'AppError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    readonly status: number = ERROR_STATUS[code],
  ) {
    super(message);
  }

  toBody(): ErrorBody {
    return { error: { code: this.code, message: this.message, ...(this.details === undefined ? {} : { details: this.details }) } };
  }
}

export const errors = {
  validation: (message: string, details?: unknown) => new AppError('VALIDATION_FAILED', message, details),
  notFound: (message: string, details?: unknown) => new AppError('NOT_FOUND', message, details),
  conflict: (message: string, details?: unknown) => new AppError('CONFLICT', message, details),
  unauthenticated: (message: string) => new AppError('UNAUTHENTICATED', message),
  forbidden: (message: string, details?: unknown) => new AppError('FORBIDDEN', message, details),
  limit: (message: string, details?: unknown) => new AppError('LIMIT_EXCEEDED', message, details),
  unavailable: (message: string, details?: unknown) => new AppError('SERVICE_UNAVAILABLE', message, details),
};
