import { EventStoreUnavailableError, InvalidAppendError } from '../errors.js';

/** The SQLSTATE of an error raised by the server, if it is one. */
function sqlState(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  const { code } = error as { code: unknown };
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** A concurrent writer got there first: running the request again decides it against the committed state. */
export function isRetryableRace(error: unknown): boolean {
  const state = sqlState(error);
  return state === '23505' || state === '40001' || state === '40P01';
}

/** No SQLSTATE (socket error, pool closed) or a connection / shutdown class from the server. */
export function isConnectionError(error: unknown): boolean {
  const state = sqlState(error);
  return state === undefined || state.startsWith('08') || state.startsWith('57P');
}

/** Turns a failure of a request that was retried on its own into the port's typed errors. */
export function appendFailure(streamId: string, error: unknown): Error {
  const state = sqlState(error);
  if (state?.startsWith('22')) {
    return new InvalidAppendError(`The database refused the events of stream ${streamId} (SQLSTATE ${state})`, {
      cause: error,
    });
  }
  if (isConnectionError(error)) {
    return new EventStoreUnavailableError(`The event store could not append to stream ${streamId}`, { cause: error });
  }
  return error instanceof Error ? error : new Error(String(error));
}
