import pg from 'pg';
import { PARTITIONS_TABLE } from './archive-sql.js';

/**
 * The first positions of the events table's partitions, for the checkpoint sealer (a range never crosses one). An
 * events table without partitions (a store that is not PostgreSQL, a database before migration 5) has none.
 */
export function partitionStartsReader(databaseUrl: string): {
  read: () => Promise<readonly bigint[]>;
  close: () => Promise<void>;
} {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 1, application_name: 'audit-ledger-sealer' });
  pool.on('error', () => undefined);
  return {
    read: async () => {
      const { rows } = await pool
        .query<{ p: string }>(`SELECT first_position::text AS p FROM ${PARTITIONS_TABLE}`)
        .catch((error: { code?: string }) => {
          if (error.code === '42P01') return { rows: [] as { p: string }[] }; // no partition registry
          throw error;
        });
      return rows.map((row) => BigInt(row.p));
    },
    close: () => pool.end(),
  };
}
