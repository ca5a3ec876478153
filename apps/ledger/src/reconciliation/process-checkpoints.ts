import pg from 'pg';

/**
 * The processor's own tables, in schema `ledger_process` of the ledger's database, on the owner's connection (the
 * event store's connections run as `ledger_writer`, which may only INSERT and SELECT in `ledger`):
 * - `checkpoints`: the last global position a processor has handled;
 * - `pending_expiries`: granted approvals with an expiry, until the timer has checked them for `approval_unused`.
 * Both are derived state: truncating them makes the processor replay from position 0, which appends nothing new.
 */
export class ProcessCheckpoints {
  constructor(private readonly pool: pg.Pool) {}

  async ensureSchema(): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`SELECT pg_advisory_xact_lock(hashtext('ledger_process.schema'))`);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ledger_process`);
      await client.query(`CREATE TABLE IF NOT EXISTS ledger_process.checkpoints (
        name text PRIMARY KEY,
        position bigint NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now())`);
      await client.query(`CREATE TABLE IF NOT EXISTS ledger_process.pending_expiries (
        stream_id text PRIMARY KEY,
        approval_id text NOT NULL,
        expires_at timestamptz NOT NULL)`);
      await client.query(
        `CREATE INDEX IF NOT EXISTS pending_expiries_expires_at ON ledger_process.pending_expiries (expires_at)`,
      );
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async load(name: string): Promise<bigint> {
    const { rows } = await this.pool.query<{ position: string }>(
      `SELECT position FROM ledger_process.checkpoints WHERE name = $1`,
      [name],
    );
    return rows[0] ? BigInt(rows[0].position) : 0n;
  }

  /** Never moves backwards (two processors on one database both make progress; the slower one cannot undo it). */
  async save(name: string, position: bigint): Promise<void> {
    await this.pool.query(
      `INSERT INTO ledger_process.checkpoints (name, position) VALUES ($1, $2)
       ON CONFLICT (name) DO UPDATE
         SET position = GREATEST(ledger_process.checkpoints.position, EXCLUDED.position), updated_at = now()`,
      [name, position.toString()],
    );
  }

  async addPendingExpiry(streamId: string, approvalId: string, expiresAt: string): Promise<void> {
    await this.pool.query(
      `INSERT INTO ledger_process.pending_expiries (stream_id, approval_id, expires_at) VALUES ($1, $2, $3)
       ON CONFLICT (stream_id) DO NOTHING`,
      [streamId, approvalId, expiresAt],
    );
  }

  async removePendingExpiry(streamId: string): Promise<void> {
    await this.pool.query(`DELETE FROM ledger_process.pending_expiries WHERE stream_id = $1`, [streamId]);
  }

  async dueExpiries(now: Date, limit: number): Promise<{ streamId: string; approvalId: string }[]> {
    const { rows } = await this.pool.query<{ stream_id: string; approval_id: string }>(
      `SELECT stream_id, approval_id FROM ledger_process.pending_expiries
       WHERE expires_at < $1 ORDER BY expires_at LIMIT $2`,
      [now.toISOString(), limit],
    );
    return rows.map((row) => ({ streamId: row.stream_id, approvalId: row.approval_id }));
  }
}
