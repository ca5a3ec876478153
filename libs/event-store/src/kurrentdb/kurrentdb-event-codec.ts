import { type AllStreamResolvedEvent, type EventData, jsonEvent, type ResolvedEvent } from '@kurrent/kurrentdb-client';
import { EventStoreError } from '../errors.js';
import { type RecordedEvent } from '../event-store.port.js';

/**
 * Storage format (a contract: changing it breaks reading history). Each ledger event is a KurrentDB JSON event whose
 * id is the ledger eventId, whose data is the caller's data, and whose metadata is the caller's metadata plus one key,
 * `$ledger`, holding the hash link. The key is stripped on read, so `RecordedEvent.metadata` is what was appended.
 */
export const LEDGER_METADATA_KEY = '$ledger';

/**
 * KurrentDB indexes events by stream only, so the adapter keeps its own index of event ids: before an event is
 * appended, its id is claimed for its stream by creating the stream `ledger_event_id-<eventId>` holding one
 * `LedgerEventIdClaimed` event, `{ streamId }`. These streams are internal: never returned by reads.
 */
export const CLAIM_STREAM_PREFIX = 'ledger_event_id-';
export const CLAIM_EVENT_TYPE = 'LedgerEventIdClaimed';

interface LedgerLink {
  prevHash: string;
  hash: string;
}

/** An event of a stream, validated and hashed, ready to be written. */
export interface ChainedNewEvent {
  eventId: string;
  type: string;
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
  streamRevision: number;
  prevHash: string;
  hash: string;
}

/** A KurrentDB event the adapter cannot turn into a ledger event: it was not written through this adapter. */
export class UnreadableEventError extends EventStoreError {
  readonly code = 'EVENT_STORE.UNREADABLE_EVENT';
  constructor(
    readonly streamId: string,
    readonly streamRevision: bigint,
    detail: string,
  ) {
    super(`Unreadable event at revision ${streamRevision} of stream ${streamId}: ${detail}`);
  }
}

export function toEventData(event: ChainedNewEvent): EventData {
  const link: LedgerLink = { prevHash: event.prevHash, hash: event.hash };
  return jsonEvent({
    id: event.eventId,
    type: event.type,
    data: event.data,
    metadata: { ...event.metadata, [LEDGER_METADATA_KEY]: link },
  });
}

/** System streams and event types (`$…`) are KurrentDB's own; claim streams are the adapter's index. */
export function isInternal(streamId: string, type: string): boolean {
  return streamId.startsWith('$') || type.startsWith('$') || streamId.startsWith(CLAIM_STREAM_PREFIX);
}

/**
 * Converts what the client read into a ledger event; `undefined` for internal events and unresolved links, which are
 * not ledger events. Anything else that is not in the storage format is an error rather than silently skipped: the
 * database belongs to the ledger, and an audit trail must not hide what it cannot verify.
 */
export function fromResolved(resolved: ResolvedEvent | AllStreamResolvedEvent): RecordedEvent | undefined {
  const event = resolved.event;
  if (event === undefined || isInternal(event.streamId, event.type)) return undefined;
  const fail = (detail: string) => new UnreadableEventError(event.streamId, event.revision, detail);

  const commit = event.position?.commit ?? resolved.commitPosition;
  if (commit === undefined) throw fail('KurrentDB reported no position (servers before 22.6 do not)');
  if (!event.isJson || !isJsonObject(event.data)) throw fail('its data is not a JSON object');
  if (!isJsonObject(event.metadata)) throw fail('it has no JSON metadata, so no hash link');
  const { [LEDGER_METADATA_KEY]: link, ...metadata } = event.metadata;
  if (!isLedgerLink(link)) throw fail(`its metadata has no valid ${LEDGER_METADATA_KEY} hash link`);

  return {
    eventId: event.id,
    type: event.type,
    data: event.data,
    metadata,
    streamId: event.streamId,
    streamRevision: Number(event.revision),
    globalPosition: commit,
    prevHash: link.prevHash,
    hash: link.hash,
    recordedAt: event.created,
  };
}

export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

function isLedgerLink(value: unknown): value is LedgerLink {
  return isJsonObject(value) && typeof value['prevHash'] === 'string' && typeof value['hash'] === 'string';
}
