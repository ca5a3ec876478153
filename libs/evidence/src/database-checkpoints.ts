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

/**
 * The database's checkpoint whose range ends exactly at `toPosition`, found by bisection over the `checkpoints`
 * stream (ranges are contiguous and ascending, so their ends rise with the revision): O(log n) reads.
 */
export async function checkpointEndingAt(
  store: EventStore,
  toPosition: bigint,
  newest: CheckpointAtRevision | null,
): Promise<CheckpointAtRevision | null> {
  if (!newest) return null;
  let low = 0;
  let high = newest.revision;
  while (low <= high) {
    const middle = Math.floor((low + high) / 2);
    const checkpoint = middle === newest.revision ? newest.checkpoint : await checkpointAtRevision(store, middle);
    if (!checkpoint) return null; // a malformed checkpoint: ledger verify names it
    const end = BigInt(checkpoint.toPosition);
    if (end === toPosition) return { revision: middle, checkpoint };
    if (end < toPosition) low = middle + 1;
    else high = middle - 1;
  }
  return null;
}

export function headOfCheckpoint(checkpoint: SealedCheckpoint | null | undefined): WitnessHead {
  return checkpoint ? { checkpointHash: checkpoint.checkpointHash, toPosition: checkpoint.toPosition } : GENESIS_HEAD;
}
