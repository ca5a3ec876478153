/** The little the adapter logs through; a pino logger fits as it is. */
export interface EventStoreLogger {
  warn(context: Record<string, unknown>, message: string): void;
  error(context: Record<string, unknown>, message: string): void;
}

export const silentLogger: EventStoreLogger = {
  warn: () => undefined,
  error: () => undefined,
};
