import type pg from 'pg';

/** The events table's partition registry (event-store migration 5). */
export const PARTITIONS_TABLE = 'ledger.event_partitions';

export interface EventPartition {
  name: string;
  firstPosition: bigint;
  /** Exclusive; null while open. */
  endPosition: bigint | null;
  closedAt: Date | null;
  releasedAt: Date | null;
  detachedAt: Date | null;
}

type PartitionRow = {
  name: string;
  first_position: string;
  end_position: string | null;
  closed_at: Date | null;
  released_at: Date | null;
  detached_at: Date | null;
};

export async function listPartitions(client: pg.ClientBase): Promise<EventPartition[]> {
  const { rows } = await client.query<PartitionRow>(
    `SELECT name, first_position::text, end_position::text, closed_at, released_at, detached_at
       FROM ${PARTITIONS_TABLE} ORDER BY first_position`,
  );
  return rows.map((row) => ({
    name: row.name,
    firstPosition: BigInt(row.first_position),
    endPosition: row.end_position === null ? null : BigInt(row.end_position),
    closedAt: row.closed_at,
    releasedAt: row.released_at,
    detachedAt: row.detached_at,
  }));
}

/** Closes the open partition (see ledger.roll_event_partition); the closed one's name, or null when it was empty. */
export async function rollPartition(client: pg.ClientBase): Promise<string | null> {
  const { rows } = await client.query<{ name: string | null }>('SELECT ledger.roll_event_partition() AS name');
  return rows[0]?.name ?? null;
}

/** The newest recording time in a partition (null when it holds no event). */
export async function newestRecordedAt(client: pg.ClientBase, partition: EventPartition): Promise<Date | null> {
  const { rows } = await client.query<{ newest: Date | null }>(
    `SELECT max(recorded_at) AS newest FROM ledger.${client.escapeIdentifier(partition.name)}`,
  );
  return rows[0]?.newest ?? null;
}

/**
 * Marks the partitions released and detaches them, in one transaction: the event trigger guarding the partitions
 * (migration 5) lets a partition go only once it is marked. They stay as plain tables until an operator drops them.
 */
export async function releaseAndDetach(client: pg.ClientBase, names: readonly string[], by: string): Promise<void> {
  await client.query('BEGIN');
  try {
    for (const name of names) {
      await client.query(`UPDATE ${PARTITIONS_TABLE} SET released_at = now(), released_by = $2 WHERE name = $1`, [
        name,
        by,
      ]);
      await client.query(`ALTER TABLE ledger.events DETACH PARTITION ledger.${client.escapeIdentifier(name)}`);
      await client.query(`UPDATE ${PARTITIONS_TABLE} SET detached_at = now() WHERE name = $1`, [name]);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** `ledger archive roll`: closes the open partition over its own connection. */
export async function rollPartitionAt(databaseUrl: string): Promise<string | null> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'audit-ledger-archive' });
  await client.connect();
  try {
    return await rollPartition(client);
  } finally {
    await client.end();
  }
}
