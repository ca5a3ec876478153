import { StreamNotFoundError, type EventStore } from '@audit-ledger/event-store';
import { GENESIS_HEAD, parseSealedCheckpoint, type SealedCheckpoint, type WitnessHead } from '@audit-ledger/integrity';
import { CHECKPOINTS_STREAM } from './checkpoint-sealer.js';

export interface CheckpointAtRevision {
  revision: number;
  checkpoint: SealedCheckpoint;
}

/** The checkpoint at a revision of the `checkpoints` stream; null when there is none or it is malformed. */
export async function checkpointAtRevision(store: EventStore, revision: number): Promise<SealedCheckpoint | null> {
  const [event] = await store
    .readStream(CHECKPOINTS_STREAM, { fromRevision: revision, maxCount: 1 })
    .catch((error: unknown) => {
      if (error instanceof StreamNotFoundError) return [];
      throw error;
    });
  return event && event.streamRevision === revision ? parseSealedCheckpoint(event.data) : null;
}

/** The database's newest checkpoint and its revision; null when none was sealed. */
export async function newestCheckpoint(store: EventStore): Promise<CheckpointAtRevision | null> {
  const [event] = await store
    .readStream(CHECKPOINTS_STREAM, { direction: 'backwards', maxCount: 1 })
    .catch((error: unknown) => {
      if (error instanceof StreamNotFoundError) return [];
      throw error;
    });
  if (!event) return null;
  const checkpoint = parseSealedCheckpoint(event.data);
  if (!checkpoint)
    throw new Error(`the last checkpoint (position ${event.globalPosition}) is malformed: run ledger verify`);
  return { revision: event.streamRevision, checkpoint };
}

/** The first checkpoint still in the database (after `ledger archive drop`, the first after the tombstone). */
async function oldestCheckpoint(store: EventStore): Promise<CheckpointAtRevision | null> {
  const [event] = await store.readStream(CHECKPOINTS_STREAM, { maxCount: 1 }).catch((error: unknown) => {
    if (error instanceof StreamNotFoundError) return [];
    throw error;
  });
  const checkpoint = event ? parseSealedCheckpoint(event.data) : null;
  return event && checkpoint ? { revision: event.streamRevision, checkpoint } : null;
}

/** Where the database's checkpoint chain has the head ending at a position, and its revision in `checkpoints`. */
export interface CheckpointHeadAt {
  revision: number;
  head: WitnessHead;
}

/**
 * The database's checkpoint whose range ends exactly at `toPosition`, found by bisection over the `checkpoints`
 * stream (ranges are contiguous and ascending, so their ends rise with the revision): O(log n) reads. After
 * `ledger archive drop` the first revisions are gone: the bisection runs over those left, the checkpoint ending just
 * before the first one left is known by its hash (that one's previousCheckpointHash), and 'archived' says that
 * `toPosition` lies further back, where the database no longer holds checkpoints.
 */
export async function checkpointEndingAt(
  store: EventStore,
  toPosition: bigint,
  newest: CheckpointAtRevision | null,
): Promise<CheckpointHeadAt | 'archived' | null> {
  if (!newest) return null;
  const oldest = newest.revision === 0 ? newest : await oldestCheckpoint(store);
  if (!oldest) return null; // malformed: ledger verify names it
  const oldestFrom = BigInt(oldest.checkpoint.fromPosition);
  if (oldest.revision > 0 && toPosition < oldestFrom) {
    return toPosition === oldestFrom - 1n
      ? {
          revision: oldest.revision - 1,
          head: { checkpointHash: oldest.checkpoint.previousCheckpointHash, toPosition: String(toPosition) },
        }
      : 'archived';
  }
  let low = oldest.revision;
  let high = newest.revision;
  while (low <= high) {
    const middle = Math.floor((low + high) / 2);
    const checkpoint = middle === newest.revision ? newest.checkpoint : await checkpointAtRevision(store, middle);
    if (!checkpoint) return null; // a malformed checkpoint: ledger verify names it
    const end = BigInt(checkpoint.toPosition);
    if (end === toPosition) return { revision: middle, head: headOfCheckpoint(checkpoint) };
    if (end < toPosition) low = middle + 1;
    else high = middle - 1;
  }
  return null;
}

export function headOfCheckpoint(checkpoint: SealedCheckpoint | null | undefined): WitnessHead {
  return checkpoint ? { checkpointHash: checkpoint.checkpointHash, toPosition: checkpoint.toPosition } : GENESIS_HEAD;
}
