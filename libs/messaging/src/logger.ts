/**
 * The logger the messaging layer writes to. Structurally a subset of pino's `Logger` (fields first,
 * then the message), so a service passes its pino logger as is; kafkajs' own logs are routed here.
 */
export interface MessagingLogger {
  error(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  debug(fields: Record<string, unknown>, message: string): void;
}

/** Discards everything (tests that do not look at logs). */
export const silentLogger: MessagingLogger = {
  error: () => undefined,
  warn: () => undefined,
  info: () => undefined,
  debug: () => undefined,
};

/** The default when none is given: warnings and errors as JSON lines on stderr, nothing else. */
export const stderrLogger: MessagingLogger = {
  error: (fields, message) => writeLine('error', fields, message),
  warn: (fields, message) => writeLine('warn', fields, message),
  info: () => undefined,
  debug: () => undefined,
};

function writeLine(level: string, fields: Record<string, unknown>, message: string): void {
  const line = JSON.stringify({ level, time: new Date().toISOString(), ...fields, msg: message }, (_key, value: unknown) =>
    typeof value === 'bigint' ? value.toString() : value instanceof Error ? value.message : value,
  );
  process.stderr.write(`${line}\n`);
}

/** The message of anything thrown. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
