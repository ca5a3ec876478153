import {
  convertToCommandError,
  ErrorType,
  isCommandError,
  WrongExpectedVersionError as KurrentWrongExpectedVersionError,
} from '@kurrent/kurrentdb-client';
import { EventStoreUnavailableError, StreamNotFoundError } from '../errors.js';

const GRPC_DEADLINE_EXCEEDED = 4;
const GRPC_UNAVAILABLE = 14;

/** Errors after which a retry (on this or another node) may succeed: the store was not reachable, or not in time. */
const UNAVAILABLE = new Set<ErrorType>([
  ErrorType.UNAVAILABLE,
  ErrorType.DEADLINE_EXCEEDED,
  ErrorType.TIMEOUT,
  ErrorType.NOT_LEADER,
]);

const STREAM_GONE = new Set<ErrorType>([
  ErrorType.STREAM_NOT_FOUND,
  ErrorType.STREAM_DELETED,
  ErrorType.STREAM_TOMBSTONED,
]);

export function asWrongExpectedVersion(error: unknown): KurrentWrongExpectedVersionError | undefined {
  const normalised = normalise(error);
  return normalised instanceof KurrentWrongExpectedVersionError ? normalised : undefined;
}

export function isStreamGone(error: unknown): boolean {
  const normalised = normalise(error);
  return isCommandError(normalised) && STREAM_GONE.has(normalised.type);
}

/** Maps a client error to the port's typed errors; anything without a port equivalent is returned as it is. */
export function toStoreError(error: unknown, streamId?: string): Error {
  const normalised = normalise(error);
  if (isCommandError(normalised)) {
    if (UNAVAILABLE.has(normalised.type)) return unavailable(normalised, streamId);
    if (streamId !== undefined && STREAM_GONE.has(normalised.type)) return new StreamNotFoundError(streamId);
    return normalised;
  }
  // Some calls of the 1.x client reject with a bare gRPC status error that convertToCommandError leaves as it is.
  const code = (normalised as { code?: unknown }).code;
  if (code === GRPC_UNAVAILABLE || code === GRPC_DEADLINE_EXCEEDED) return unavailable(normalised, streamId);
  return normalised;
}

function unavailable(error: Error, streamId: string | undefined): EventStoreUnavailableError {
  const on = streamId === undefined ? '' : ` (stream ${streamId})`;
  return new EventStoreUnavailableError(`KurrentDB did not answer${on}: ${error.message}`, { cause: error });
}

function normalise(error: unknown): Error {
  if (!(error instanceof Error)) return new Error(`KurrentDB client failed with a non-error: ${String(error)}`);
  return convertToCommandError(error);
}
