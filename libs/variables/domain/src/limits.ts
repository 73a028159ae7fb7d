import type { VariableValue } from '@svp/contracts';
import { type DecisionError, utf8Length } from './common.js';

/**
 * An org's variable limits (DESIGN.md section 3: "configured and enforced with clear errors"). The
 * org may change them (PUT /v1/variables/settings) up to VARIABLE_LIMIT_CEILINGS.
 */
export interface VariableLimits {
  /** Longest variable name, in characters. */
  maxNameLength: number;
  /** Longest string value, in UTF-8 bytes. */
  maxValueBytes: number;
  /** Most session-scope variables a session holds. */
  maxSessionVariables: number;
  /** Most variables a visitor holds. */
  maxVisitorVariables: number;
}

export const DEFAULT_LIMITS: VariableLimits = { maxNameLength: 128, maxValueBytes: 4096, maxSessionVariables: 250, maxVisitorVariables: 250 };

export type LimitName = keyof VariableLimits;

const exceeded = (limit: LimitName, max: number, message: string, details: Record<string, unknown> = {}): DecisionError => ({
  code: 'LIMIT_EXCEEDED',
  message,
  details: { limit, max, ...details },
});

/** Whether a name breaks the name-length limit. */
export const nameTooLong = (name: string, limits: VariableLimits): boolean => name.length > limits.maxNameLength;
/** Whether a value breaks the value-size limit (only strings can). */
export const valueTooLong = (value: VariableValue, limits: VariableLimits): boolean => typeof value === 'string' && utf8Length(value) > limits.maxValueBytes;

/** The first name or value of `values` that breaks a limit, as the error that names the limit. */
export function valueLimitError(values: Iterable<readonly [string, VariableValue]>, limits: VariableLimits): DecisionError | undefined {
  for (const [name, value] of values) {
    if (nameTooLong(name, limits))
      return exceeded('maxNameLength', limits.maxNameLength, `A variable name is longer than ${limits.maxNameLength} characters: '${name.slice(0, 32)}…'`, { name, length: name.length });
    if (valueTooLong(value, limits))
      return exceeded('maxValueBytes', limits.maxValueBytes, `Value of '${name}' is longer than ${limits.maxValueBytes} bytes`, {
        name,
        bytes: utf8Length(value as string),
      });
  }
  return undefined;
}

/** The error for holding more variables than the limit allows, or undefined. */
export function countLimitError(limit: 'maxSessionVariables' | 'maxVisitorVariables', wouldHold: number, limits: VariableLimits): DecisionError | undefined {
  const max = limits[limit];
  if (wouldHold <= max) return undefined;
  const holder = limit === 'maxSessionVariables' ? 'A session holds at most' : 'A visitor holds at most';
  return exceeded(limit, max, `${holder} ${max} variables; this would leave ${wouldHold}`, { wouldHold });
}
