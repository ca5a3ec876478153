export type LogFields = Record<string, unknown>;

/** What the client logs through. A pino logger fits as is. */
export interface ClientLogger {
  info(fields: LogFields, message: string): void;
  warn(fields: LogFields, message: string): void;
  error(fields: LogFields, message: string): void;
}

/** The default: one small JSON line per message on stderr, e.g. `{"level":"warn","time":…,"msg":…,"seq":3}`. */
export function jsonLineLogger(
  write: (line: string) => void = (line) => process.stderr.write(line),
  name = 'ledger-client',
): ClientLogger {
  const log = (level: string) => (fields: LogFields, message: string) =>
    write(`${JSON.stringify({ level, time: new Date().toISOString(), name, msg: message, ...fields })}\n`);
  return { info: log('info'), warn: log('warn'), error: log('error') };
}

export const silentLogger: ClientLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** Errors as log fields: message and code, without a stack for the expected ones (ECONNREFUSED…). */
export function describeError(error: unknown): LogFields {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { error: error.message, ...(typeof code === 'string' ? { code } : {}) };
  }
  return { error: String(error) };
}
