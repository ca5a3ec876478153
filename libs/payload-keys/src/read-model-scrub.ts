import { ERASED, type ErasableField } from '@audit-ledger/domain';
import type pg from 'pg';

/**
 * Read-model rows holding a plaintext copy of an erased field, overwritten with `[erased]` in the erasure's own
 * transaction (the read models are derived: a rebuild reads `[erased]` from the store, the same). Only the fields the
 * ledger encrypts: a field stored in clear in the events would come back on a rebuild. Tables a ledger without
 * projections never created are skipped. Returns the rows changed per table.
 */
export async function scrubReadModels(
  client: pg.PoolClient,
  streamId: string,
  fields: readonly ErasableField[],
): Promise<Record<string, number>> {
  const changed: Record<string, number> = {};
  if (!fields.includes('command')) return changed; // no read model holds an execution's output text
  const exists = async (table: string) =>
    (await client.query<{ t: string | null }>(`SELECT to_regclass($1)::text AS t`, [table])).rows[0]?.t != null;
  if (await exists('read_models.executions')) {
    const { rowCount } = await client.query(
      `UPDATE read_models.executions SET command = $2 WHERE stream_id = $1 AND command <> $2`,
      [streamId, ERASED],
    );
    changed['read_models.executions'] = rowCount ?? 0;
  }
  if (await exists('read_models.mismatches')) {
    const { rowCount } = await client.query(
      `UPDATE read_models.mismatches
          SET executed = CASE WHEN executed ? 'command' THEN jsonb_set(executed, '{command}', to_jsonb($2::text))
                              ELSE executed END,
              explanation = $2
        WHERE stream_id = $1 AND (explanation <> $2 OR executed->>'command' <> $2)`,
      [streamId, ERASED],
    );
    changed['read_models.mismatches'] = rowCount ?? 0;
  }
  return changed;
}
