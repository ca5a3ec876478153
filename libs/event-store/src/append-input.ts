import { jsonFidelityIssues, stringFidelityProblem } from '@audit-ledger/integrity';
import { contentDifferences } from './content-differences.js';
import { IdempotencyConflictError, InvalidAppendError } from './errors.js';
import type { ExpectedRevision, NewEvent } from './event-store.port.js';

// Checks on an append's input that every adapter makes the same way (the contract suite expects the same errors).

function isExpectedRevision(value: unknown): value is ExpectedRevision {
  if (value === 'any' || value === 'no_stream' || value === 'stream_exists') return true;
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** A JSON object as it will read back from the store (hashes are computed over this copy). */
function jsonObject(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidAppendError(`${what} must be a JSON object`);
  }
  let copy: unknown;
  try {
    copy = JSON.parse(JSON.stringify(value));
  } catch (error) {
    throw new InvalidAppendError(`${what} is not serialisable as JSON`, { cause: error });
  }
  if (typeof copy !== 'object' || copy === null || Array.isArray(copy)) {
    throw new InvalidAppendError(`${what} must serialise to a JSON object`);
  }
  // The last line of defence: no adapter stores what a read could not return exactly (or at all): strings that are
  // not Unicode text or hold NUL. Numbers are doubles by now; the edges refuse integers a sender could not mean.
  const issues = jsonFidelityIssues(copy, '', { input: false });
  if (issues.length > 0) {
    throw new InvalidAppendError(
      `${what} cannot be stored faithfully as JSON: ` +
        issues.map((issue) => `${issue.path || '(value)'} ${issue.message}`).join('; '),
    );
  }
  return copy as Record<string, unknown>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** What one store adds to the shared checks: names it reserves, characters it cannot hold. Each throws. */
export interface StoreAppendRules {
  streamId?(streamId: string): void;
  type?(type: string, where: string): void;
  metadata?(metadata: Record<string, unknown>, where: string): void;
}

/**
 * The checks of an append that every adapter makes alike (the contract suite expects the same errors): a stream id,
 * at least one event, a valid expected revision, UUID event ids without repeats, non-empty types, JSON-object
 * payloads. Returns the events with lower-case ids and payloads as a read will return them (the hash covers that).
 */
export function checkAppend(
  streamId: string,
  events: readonly NewEvent[],
  expectedRevision: unknown,
  rules: StoreAppendRules = {},
): NewEvent[] {
  if (typeof streamId !== 'string' || streamId.length === 0) {
    throw new InvalidAppendError(`A stream id must be a non-empty string, got ${JSON.stringify(streamId)}`);
  }
  const streamIdProblem = stringFidelityProblem(streamId);
  if (streamIdProblem !== undefined) throw new InvalidAppendError(`The stream id ${streamIdProblem}`);
  rules.streamId?.(streamId);
  if (!Array.isArray(events) || events.length === 0) {
    throw new InvalidAppendError(`An append to stream ${streamId} must carry at least one event`);
  }
  if (!isExpectedRevision(expectedRevision)) {
    throw new InvalidAppendError(
      `Invalid expected revision ${JSON.stringify(expectedRevision)} for stream ${streamId}: ` +
        `use 'any', 'no_stream', 'stream_exists' or a revision >= 0`,
    );
  }
  const seen = new Set<string>();
  return events.map((event, index) => {
    const where = `event ${index} of the append to stream ${streamId}`;
    if (typeof event.eventId !== 'string' || !UUID.test(event.eventId)) {
      throw new InvalidAppendError(`The eventId of ${where} is not a UUID: ${JSON.stringify(event.eventId)}`);
    }
    const eventId = event.eventId.toLowerCase();
    if (seen.has(eventId)) {
      throw new InvalidAppendError(`The eventId ${eventId} appears twice in the append to stream ${streamId}`);
    }
    seen.add(eventId);
    const aliasEventIds = checkAliases(event.aliasEventIds, where, seen);
    if (typeof event.type !== 'string' || event.type.length === 0) {
      throw new InvalidAppendError(`The type of ${where} must be a non-empty string`);
    }
    const typeProblem = stringFidelityProblem(event.type);
    if (typeProblem !== undefined) throw new InvalidAppendError(`The type of ${where} ${typeProblem}`);
    rules.type?.(event.type, where);
    const data = jsonObject(event.data, `the data of ${where}`);
    const metadata = jsonObject(event.metadata, `the metadata of ${where}`);
    rules.metadata?.(metadata, where);
    return aliasEventIds.length > 0
      ? { eventId, type: event.type, data, metadata, aliasEventIds }
      : { eventId, type: event.type, data, metadata };
  });
}

/** Alias ids are UUIDs like event ids, and no id (event or alias) appears twice in one append. */
function checkAliases(aliases: unknown, where: string, seen: Set<string>): string[] {
  if (aliases === undefined) return [];
  if (!Array.isArray(aliases)) throw new InvalidAppendError(`The aliasEventIds of ${where} must be an array`);
  return aliases.map((alias: unknown, index) => {
    if (typeof alias !== 'string' || !UUID.test(alias)) {
      throw new InvalidAppendError(`aliasEventIds[${index}] of ${where} is not a UUID: ${JSON.stringify(alias)}`);
    }
    const id = alias.toLowerCase();
    if (seen.has(id)) throw new InvalidAppendError(`The id ${id} appears twice in ${where} (event or alias ids)`);
    seen.add(id);
    return id;
  });
}

/** The ids an event may already be stored under: its own, then its aliases. */
export function idsOf(event: NewEvent): string[] {
  return [event.eventId, ...(event.aliasEventIds ?? [])];
}

/** A stored event found under the event id of a proposed one. */
export interface StoredUnderId {
  eventId: string;
  streamId: string;
  streamRevision: number;
  /** Undefined for an event planned earlier in the same batch: not committed yet (named `pending`). */
  globalPosition: bigint | undefined;
  type: string;
  data: Record<string, unknown>;
}

/**
 * An event id of the append already stored in ANOTHER stream: the same key reused under another stream (an execution
 * id under another approval). Names the stored event's id, stream and position, and what differs: `streamId` first,
 * then the type and data fields (`approvalId`, `sessionId`, …), derived paths compared on presence.
 */
export function foreignStreamConflict(
  streamId: string,
  proposed: NewEvent,
  stored: StoredUnderId,
  derivedPaths: readonly string[] = [],
): IdempotencyConflictError {
  return conflictWith(streamId, stored, ['streamId', ...differencesOf(proposed, stored, derivedPaths)]);
}

/**
 * The check every adapter makes when all the event ids of an append are already stored in its stream: a replay with
 * the same type and data (derived paths compared on presence) is answered with the original result; anything else
 * is a conflict naming the event id, the stored event's position and the fields that differ. `pairs` are in order.
 */
export function differentContentConflict(
  streamId: string,
  pairs: readonly { proposed: NewEvent; stored: StoredUnderId }[],
  derivedPaths: readonly string[] = [],
): IdempotencyConflictError | undefined {
  for (const { proposed, stored } of pairs) {
    const differences = differencesOf(proposed, stored, derivedPaths);
    if (differences.length > 0) return conflictWith(streamId, stored, differences);
  }
  return undefined;
}

function differencesOf(proposed: NewEvent, stored: StoredUnderId, derivedPaths: readonly string[]): string[] {
  const differences = proposed.type === stored.type ? [] : ['type'];
  differences.push(...contentDifferences(stored.data, proposed.data, derivedPaths));
  return differences;
}

function conflictWith(streamId: string, stored: StoredUnderId, differences: string[]): IdempotencyConflictError {
  return IdempotencyConflictError.ofDifferentContent(streamId, {
    eventId: stored.eventId,
    stored: {
      eventId: stored.eventId,
      streamId: stored.streamId,
      streamRevision: stored.streamRevision,
      globalPosition: stored.globalPosition?.toString() ?? 'pending',
      type: stored.type,
    },
    differences,
  });
}
