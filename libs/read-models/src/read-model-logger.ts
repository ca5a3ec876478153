/** The little the read-model workers log through; a pino logger fits as it is. */
export interface ReadModelLogger {
  info(context: Record<string, unknown>, message: string): void;
  warn(context: Record<string, unknown>, message: string): void;
  error(context: Record<string, unknown>, message: string): void;
}

export const silentReadModelLogger: ReadModelLogger = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
