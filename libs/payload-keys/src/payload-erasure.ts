import type { ErasableField } from '@audit-ledger/domain';
import type pg from 'pg';
import { scrubReadModels } from './read-model-scrub.js';
import type { StreamKeys } from './stream-keys.js';

export interface ErasureOutcome {
  /** Key ids destroyed by this call (none when an earlier call destroyed them). */
  destroyedKeys: string[];
  /** Read-model rows overwritten, per table. */
  scrubbed: Record<string, number>;
}

/**
 * What an erasure does outside the event store, in one transaction on the owner's connection: destroys the stream's
 * data keys and overwrites the read models' plaintext copies. Idempotent: run again after a crash between the
 * `PayloadErased` append and this, it finishes the job.
 */
export class PayloadErasure {
  constructor(
    private readonly pool: pg.Pool,
    private readonly keys: StreamKeys,
    readonly fields: readonly ErasableField[],
  ) {}

  async complete(streamId: string): Promise<ErasureOutcome> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const destroyedKeys = await this.keys.destroy(client, streamId);
      const scrubbed = await scrubReadModels(client, streamId, this.fields);
      await client.query('COMMIT');
      return { destroyedKeys, scrubbed };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
      this.keys.forget(streamId); // a key read while the transaction ran is not trusted either
    }
  }

  /**
   * A projection batch that opened the stream's events just before the keys went may commit its rows just after the
   * scrub: once the projections holding copies (executions, reconciliation) have passed `position` (the stream's last
   * event at the erasure), the read models are scrubbed once more. Gives up after `timeoutMs` (false: a later `ledger erase` of the stream scrubs again).
   */
  async scrubAfterProjections(streamId: string, position: bigint, timeoutMs = 30_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { rows } = await this.pool.query<{ behind: string | null }>(
        `SELECT CASE WHEN to_regclass('read_models.projection_checkpoints') IS NULL THEN 0
                     ELSE (SELECT count(*) FROM read_models.projection_checkpoints WHERE name IN ('executions', 'reconciliation') AND position < $1) END AS behind`,
        [position.toString()],
      );
      if (Number(rows[0]?.behind ?? 0) === 0) break;
      if (Date.now() > deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const client = await this.pool.connect();
    try {
      await scrubReadModels(client, streamId, this.fields);
      return true;
    } finally {
      client.release();
    }
  }
}
