/**
 * Fills ledger.events fast for the archive test and bench: execution-sized events hashed by the store's own rule
 * (`chainHashOfCanonicalPayloads`: SHA-256 of prevHash ‖ JCS of the six hashed fields, payloads stored as their JCS
 * text), per-stream hash chains from revision 0, inserted set-based (unnest, 10,000 rows a statement) with the
 * recording times given, as a ledger running in the past would have written them.
 */
import { CheckpointSealer, type CheckpointSealerOptions } from '@audit-ledger/evidence';
import { canonicalJson, chainHashOfCanonicalPayloads, GENESIS_HASH } from '@audit-ledger/integrity';
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { execution } from './workload.js';

const BATCH = 10_000;

export interface FillOptions {
  count: number;
  streams: number;
  streamPrefix: string;
  /** Recording time of the first event; each next one is `stepMs` later. */
  firstRecordedAt: Date;
  stepMs: number;
  /** Execution-sized payloads (~600 bytes, the bench) or small ones (tests: the filling is not what they check). */
  payload?: 'execution' | 'small';
}

function executionData(i: number): Record<string, unknown> {
  const { token: _token, ...data } = execution(i, i);
  return { ...data, tokenHash: 'f'.repeat(64) };
}

export async function fillEvents(client: pg.ClientBase, options: FillOptions): Promise<void> {
  const heads = new Map<string, string>();
  for (let start = 0; start < options.count; start += BATCH) {
    const n = Math.min(BATCH, options.count - start);
    const columns: string[][] = Array.from({ length: 9 }, () => new Array<string>(n));
    for (let k = 0; k < n; k++) {
      const i = start + k;
      const streamId = `${options.streamPrefix}-${i % options.streams}`;
      const streamRevision = Math.floor(i / options.streams);
      const eventId = randomUUID();
      const recordedAt = new Date(options.firstRecordedAt.getTime() + i * options.stepMs).toISOString();
      const canonicalData = options.payload === 'small' ? canonicalJson({ n: i }) : canonicalJson(executionData(i));
      const canonicalMetadata = canonicalJson({ actor: 'key:gateway/bench', correlationId: eventId, recordedAt });
      const prevHash = heads.get(streamId) ?? GENESIS_HASH;
      const type = 'ExecutionLogged';
      const hash = chainHashOfCanonicalPayloads(
        prevHash,
        { eventId, streamId, streamRevision, type },
        canonicalData,
        canonicalMetadata,
      );
      heads.set(streamId, hash);
      const row = [eventId, streamId, String(streamRevision), type, canonicalData, canonicalMetadata, prevHash, hash];
      for (let c = 0; c < 8; c++) columns[c]![k] = row[c]!;
      columns[8]![k] = recordedAt;
    }
    await client.query(
      `INSERT INTO ledger.events (event_id, stream_id, stream_revision, type, data, metadata, prev_hash, hash, recorded_at)
       SELECT e, s, r, t, d, m, p, h, a
         FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::text[], $5::json[], $6::json[], $7::text[], $8::text[],
                     $9::timestamptz[]) WITH ORDINALITY AS u(e, s, r, t, d, m, p, h, a, ord)
        ORDER BY ord`,
      columns,
    );
  }
}

const silent = { info() {}, warn() {}, error() {} };

/** Seals what `sealer` has not sealed yet: ranges of its size up to each partition bound, then the rest. */
export async function sealAll(sealer: CheckpointSealer): Promise<void> {
  while (await sealer.sealIfDue()) {
    // range after range, each ending at a partition bound at the latest
  }
  while (await sealer.sealNow()) {
    // what is left, and the checkpoint events themselves
  }
}

/** Seals every event of the store in checkpoints of 1,000 events (none crossing a partition bound). */
export async function sealInThousands(
  options: Pick<CheckpointSealerOptions, 'store' | 'keys' | 'partitionStarts'>,
): Promise<void> {
  await sealAll(
    new CheckpointSealer({ ...options, everyEvents: 1_000, everyMs: 3_600_000, batchSize: 5_000, logger: silent }),
  );
}
