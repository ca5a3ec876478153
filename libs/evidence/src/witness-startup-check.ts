import { StreamNotFoundError, type EventStore } from '@audit-ledger/event-store';
import {
  compareWithWitness,
  parseRollbackAcknowledgement,
  signRollbackAcknowledgement,
  type RollbackAcknowledgement,
  type SigningKey,
  type WitnessComparison,
  type WitnessHead,
} from '@audit-ledger/integrity';
import { randomUUID } from 'node:crypto';
import type { SealerLogger } from './checkpoint-sealer.js';
import { checkpointEndingAt, headOfCheckpoint, newestCheckpoint } from './database-checkpoints.js';
import type { Witness } from './witness.js';

/** The stream of `RollbackAcknowledged` events: operators' acknowledgements that the database went back. */
export const ROLLBACKS_STREAM = 'integrity-rollbacks';
export const ROLLBACK_ACKNOWLEDGED = 'RollbackAcknowledged';

/** The database is behind its witness, or has another history: the ledger must not start (docs/integrity.md §5). */
export class WitnessRollbackError extends Error {
  readonly code = 'INTEGRITY.ROLLBACK_DETECTED';
}

export interface WitnessStartupCheckOptions {
  store: EventStore;
  witnesses: readonly Witness[];
  signing: SigningKey;
  /** LEDGER_ACKNOWLEDGE_ROLLBACK: the witness head's checkpointHash or toPosition that the operator gives up. */
  acknowledgeRollback?: string | undefined;
  /** Who acknowledges (recorded in the event). */
  actor: string;
  logger: SealerLogger;
  now?: () => Date;
}

const sameHead = (a: WitnessHead, b: WitnessHead) =>
  a.checkpointHash === b.checkpointHash && a.toPosition === b.toPosition;

/**
 * Before the ledger appends anything, compares its newest checkpoint with each witness's head. A database behind
 * its witness (the witness holds a checkpoint the database lacks) or forked from it (another checkpoint where the
 * witness's head ends) throws WitnessRollbackError, unless the operator acknowledged exactly that head: then a
 * `RollbackAcknowledged` event is appended (stream `integrity-rollbacks`) and the signed acknowledgement is sent to
 * the witness, which resumes its chain from the database's newest checkpoint. A witness that cannot be reached is
 * logged and skipped: its publisher compares again before sending anything and never forks it.
 */
export async function checkWitnessesAtStart(options: WitnessStartupCheckOptions): Promise<void> {
  const { store, logger } = options;
  const wanted = options.acknowledgeRollback?.trim() || undefined;
  let acknowledgedAny = false;
  for (const witness of options.witnesses) {
    let head: WitnessHead | null;
    try {
      ({ head } = await witness.latest());
    } catch (error) {
      // A file is local: one that cannot be read (a corrupt last line) stops the start. An HTTP witness may be down
      // for a while: the ledger starts, and its publisher compares before sending anything.
      if (witness.kind === 'file') {
        throw new WitnessRollbackError(
          `refusing to start: the witness file ${witness.target} cannot be read: ${(error as Error).message}. ` +
            'Repair it (or move it away to start a new witness, losing its protection) and start again.',
        );
      }
      logger.error(
        { witness: witness.target, err: error },
        'the witness cannot be read at start: the database is not compared with it now (its publisher compares before sending)',
      );
      continue;
    }
    const newest = await newestCheckpoint(store);
    const databaseHead = headOfCheckpoint(newest?.checkpoint);
    const at = head ? await checkpointEndingAt(store, BigInt(head.toPosition), newest) : null;
    if (at === 'archived') {
      // The witness lags behind an archive drop: the database no longer holds the checkpoints to compare it with
      // (ledger verify --witness --archive can). Starting forks nothing: the publisher sends nothing that does not
      // chain on the witness's head.
      logger.warn(
        { witness: witness.target, head },
        "the witness's head lies in a range archived and dropped: it cannot be compared with the database at start, nor brought up to date",
      );
      continue;
    }
    const comparison = compareWithWitness(head, databaseHead, at ? at.head : null);
    if (comparison.status === 'consistent') continue;

    const recorded = await lastRecordedAcknowledgement(store);
    if (recorded && sameHead(recorded.abandoned, comparison.witness) && sameHead(recorded.resumedFrom, databaseHead)) {
      // Acknowledged and recorded before, but the witness was not told (it was down, or the ledger stopped).
      await witness.acknowledgeRollback(recorded);
      acknowledgedAny = true;
      logger.warn(
        { witness: witness.target, eventId: recorded.eventId },
        'sent a recorded rollback acknowledgement to the witness',
      );
      continue;
    }
    if (
      wanted === undefined ||
      (wanted !== comparison.witness.checkpointHash && wanted !== comparison.witness.toPosition)
    ) {
      throw new WitnessRollbackError(refusal(witness, comparison, wanted));
    }
    const ack = signRollbackAcknowledgement(
      {
        abandoned: comparison.witness,
        resumedFrom: databaseHead,
        eventId: randomUUID(),
        acknowledgedBy: options.actor,
        acknowledgedAt: (options.now?.() ?? new Date()).toISOString(),
      },
      options.signing,
    );
    await store.appendToStream(ROLLBACKS_STREAM, [
      {
        eventId: ack.eventId,
        type: ROLLBACK_ACKNOWLEDGED,
        data: {
          acknowledgement: { ...ack },
          witness: { kind: witness.kind, target: witness.target },
          found: comparison.status,
        },
        metadata: {
          actor: options.actor,
          correlationId: ack.eventId,
          recordedAt: ack.acknowledgedAt,
          schemaVersion: 1,
        },
      },
    ]);
    try {
      await witness.acknowledgeRollback(ack);
    } catch (error) {
      throw new WitnessRollbackError(
        `the rollback acknowledgement was recorded (event ${ack.eventId} in stream ${ROLLBACKS_STREAM}) but the witness ` +
          `${witness.target} could not be told: ${(error as Error).message}. Start again once it is reachable; the ` +
          `recorded acknowledgement is sent then.`,
      );
    }
    acknowledgedAny = true;
    logger.warn(
      {
        witness: witness.target,
        abandoned: comparison.witness,
        resumedFrom: databaseHead,
        eventId: ack.eventId,
        acknowledgedBy: options.actor,
      },
      "ROLLBACK ACKNOWLEDGED: the witness's newer checkpoints were abandoned; recorded as RollbackAcknowledged",
    );
  }
  if (wanted !== undefined && !acknowledgedAny) {
    logger.warn(
      { acknowledgeRollback: wanted },
      'LEDGER_ACKNOWLEDGE_ROLLBACK is set but no witness is ahead of the database: nothing acknowledged; unset it',
    );
  }
}

async function lastRecordedAcknowledgement(store: EventStore): Promise<RollbackAcknowledgement | null> {
  const [event] = await store
    .readStream(ROLLBACKS_STREAM, { direction: 'backwards', maxCount: 1 })
    .catch((error: unknown) => {
      if (error instanceof StreamNotFoundError) return [];
      throw error;
    });
  const data = event?.data as { acknowledgement?: unknown } | undefined;
  return data ? parseRollbackAcknowledgement(data.acknowledgement) : null;
}

function describe(head: WitnessHead): string {
  return head.toPosition === '0'
    ? 'no checkpoint'
    : `checkpoint ${head.checkpointHash} (positions up to ${head.toPosition})`;
}

function refusal(
  witness: Witness,
  comparison: Exclude<WitnessComparison, { status: 'consistent' }>,
  wanted: string | undefined,
): string {
  const { witness: theirs, database } = comparison;
  const what =
    comparison.status === 'behind'
      ? `the database is BEHIND its witness: the witness holds ${describe(theirs)}, but the database's newest is ` +
        `${describe(database)}. The database was probably restored from an older dump, or its newest checkpoints ` +
        `and events were deleted.`
      : `the database has a DIFFERENT HISTORY than its witness: the witness holds ${describe(theirs)}, but the ` +
        (comparison.databaseAtWitnessPosition
          ? `database's checkpoint ending at position ${theirs.toPosition} is ${comparison.databaseAtWitnessPosition.checkpointHash}`
          : `database has no checkpoint ending at position ${theirs.toPosition}`) +
        ` (its newest is ${describe(database)}). Its history was rewritten and re-sealed, or this is another ledger's database.`;
  return [
    `refusing to start: ${what}`,
    `  witness: ${witness.kind} ${witness.target}`,
    `  Starting would fork the witness's chain, so nothing was appended and nothing was sent to the witness.`,
    `  What to do: find out what happened (run \`ledger verify --witness <witness file>\` against this database) and`,
    `  restore the newest backup if one holds the witness's checkpoint. To abandon the witness's checkpoints after`,
    `  ${database.toPosition === '0' ? 'the beginning' : `position ${database.toPosition}`} for good and start from this database, start with`,
    `  LEDGER_ACKNOWLEDGE_ROLLBACK=${theirs.checkpointHash} (or \`ledger start --acknowledge-rollback ${theirs.checkpointHash}\`):`,
    `  the acknowledgement is recorded as a RollbackAcknowledged event in stream ${ROLLBACKS_STREAM} and sent to the witness.`,
    ...(wanted !== undefined
      ? [`  (LEDGER_ACKNOWLEDGE_ROLLBACK=${wanted} names neither that hash nor position ${theirs.toPosition}.)`]
      : []),
  ].join('\n');
}
