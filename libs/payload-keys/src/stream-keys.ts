import { DATA_KEY_BYTES, unwrapDataKey, wrapDataKey } from '@audit-ledger/integrity';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import type pg from 'pg';

const TABLE = 'ledger_keys.stream_keys';
/** One row: which master key wraps the data keys of this database (an HMAC of a constant under it, not the key). */
const MASTER_CHECK = 'ledger_keys.master_key';

export class MasterKeyMismatchError extends Error {
  constructor() {
    super(
      'refusing to start: the data keys of this database are wrapped under another payload master key. Every ledger ' +
        "on one database needs the same one: set LEDGER_PAYLOAD_MASTER_KEY to the key in the first instance's " +
        '$LEDGER_DATA_DIR/payload-master.key (docs/security.md, "Payload encryption")',
    );
    this.name = 'MasterKeyMismatchError';
  }
}
/** How long a process trusts what it read of a key: another process's erasure is seen within this time. */
const CACHE_MS = 5_000;
/**
 * Every this often, the live keys used within the last USED_WITHIN_MS whose trust runs out within two periods are
 * read again, all in one statement: a stream written now and then keeps its key without a round trip per append.
 */
const REFRESH_MS = 1_000;
const USED_WITHIN_MS = 60_000;

export interface DataKey {
  keyId: string;
  key: Buffer;
}

/** A key as this process knows it: its bytes, or null once destroyed. */
interface Known {
  key: Buffer | null;
  streamId: string;
  until: number;
}

/**
 * The per-stream data keys (crypto-shredding), in schema `ledger_keys` of the ledger's database, on the owner's
 * connection (the event store's connections run as `ledger_writer`, which may only INSERT and SELECT in `ledger`).
 * Each key is stored wrapped under the master key; destroying one sets its bytes to NULL (the row stays: which key
 * a stream had and when it was destroyed). A stream has at most one live key; after an erasure, new events of the
 * stream get a new one.
 */
export class StreamKeys {
  private readonly live = new Map<string, DataKey & { until: number; usedAt: number }>();
  private refresher?: NodeJS.Timeout;
  private refreshing = false;
  private readonly byId = new Map<string, Known>();
  private readonly forgetListeners: ((streamId: string) => void)[] = [];

  constructor(
    private readonly pool: pg.Pool,
    private readonly master: Buffer | undefined,
    private readonly now: () => number = Date.now,
  ) {}

  private get masterKey(): Buffer {
    if (!this.master)
      throw new Error(
        "no payload master key: set LEDGER_PAYLOAD_MASTER_KEY or LEDGER_DATA_DIR to the ledger's (payload-master.key)",
      );
    return this.master;
  }

  async ensureSchema(): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`SELECT pg_advisory_xact_lock(hashtext('ledger_keys.schema'))`);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ledger_keys`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${TABLE} (
        key_id text PRIMARY KEY,
        stream_id text NOT NULL,
        wrapped_key bytea,
        created_at timestamptz NOT NULL DEFAULT now(),
        destroyed_at timestamptz,
        CONSTRAINT stream_keys_destroyed_without_bytes CHECK ((wrapped_key IS NULL) = (destroyed_at IS NOT NULL)))`);
      await client.query(
        `CREATE UNIQUE INDEX IF NOT EXISTS stream_keys_live ON ${TABLE} (stream_id) WHERE destroyed_at IS NULL`,
      );
      await client.query(`CREATE TABLE IF NOT EXISTS ${MASTER_CHECK} (
        one boolean PRIMARY KEY DEFAULT true CHECK (one),
        fingerprint text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now())`);
      if (this.master) {
        // The first ledger's master key is the database's: another one could not unwrap a single data key.
        const fingerprint = createHmac('sha256', this.master).update('audit-ledger payload master key').digest('hex');
        await client.query(`INSERT INTO ${MASTER_CHECK} (fingerprint) VALUES ($1) ON CONFLICT (one) DO NOTHING`, [
          fingerprint,
        ]);
        const { rows } = await client.query<{ fingerprint: string }>(`SELECT fingerprint FROM ${MASTER_CHECK}`);
        if (rows[0]?.fingerprint !== fingerprint) throw new MasterKeyMismatchError();
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  /** The stream's live key, created on its first use. */
  async keyFor(streamId: string): Promise<DataKey> {
    const cached = this.live.get(streamId);
    const now = this.now();
    if (cached && cached.until > now) {
      cached.usedAt = now;
      return cached;
    }
    const keyId = randomUUID();
    // One round trip for a stream's first key, or a stream whose key this process has not read lately.
    const { rows } = await this.pool.query<{ key_id: string; wrapped_key: Buffer }>(
      `WITH created AS (
         INSERT INTO ${TABLE} (key_id, stream_id, wrapped_key) VALUES ($1, $2, $3)
         ON CONFLICT (stream_id) WHERE destroyed_at IS NULL DO NOTHING
         RETURNING key_id, wrapped_key)
       SELECT key_id, wrapped_key FROM created
       UNION ALL
       SELECT key_id, wrapped_key FROM ${TABLE} WHERE stream_id = $2 AND destroyed_at IS NULL
       LIMIT 1`,
      [keyId, streamId, wrapDataKey(this.masterKey, randomBytes(DATA_KEY_BYTES), keyId)],
    );
    const row = rows[0];
    // none: a concurrent first use stored its key after this statement's snapshot was taken
    const found = row
      ? { keyId: row.key_id, key: unwrapDataKey(this.masterKey, row.wrapped_key, row.key_id) }
      : await this.readLive(streamId);
    if (!found) throw new Error(`no live data key for ${streamId} after creating one`);
    const until = now + CACHE_MS;
    this.live.set(streamId, { ...found, until, usedAt: now });
    this.byId.set(found.keyId, { key: found.key, streamId, until });
    this.refresher ??= setInterval(() => void this.refresh(), REFRESH_MS).unref();
    return found;
  }

  /**
   * Keys by id as `keysById` answers them when every one is known and still trusted here (no read needed), without
   * waiting; undefined when any is not (then `keysById` reads them).
   */
  trustedKeys(keyIds: readonly string[]): Map<string, Buffer | null> | undefined {
    const answer = new Map<string, Buffer | null>();
    const now = this.now();
    for (const keyId of keyIds) {
      const known = this.byId.get(keyId);
      if (!known || known.until <= now) return undefined;
      answer.set(keyId, known.key);
    }
    return answer;
  }

  /** Keys by id: the bytes, or null for a destroyed key; an unknown id is absent from the answer. */
  async keysById(keyIds: readonly string[]): Promise<Map<string, Buffer | null>> {
    const answer = new Map<string, Buffer | null>();
    const missing: string[] = [];
    for (const keyId of new Set(keyIds)) {
      const known = this.byId.get(keyId);
      if (known && known.until > this.now()) answer.set(keyId, known.key);
      else missing.push(keyId);
    }
    if (missing.length === 0) return answer;
    const { rows } = await this.pool.query<{ key_id: string; stream_id: string; wrapped_key: Buffer | null }>(
      `SELECT key_id, stream_id, wrapped_key FROM ${TABLE} WHERE key_id = ANY($1::text[])`,
      [missing],
    );
    const until = this.now() + CACHE_MS;
    for (const row of rows) {
      const key = row.wrapped_key ? unwrapDataKey(this.masterKey, row.wrapped_key, row.key_id) : null;
      this.byId.set(row.key_id, { key, streamId: row.stream_id, until });
      answer.set(row.key_id, key);
    }
    return answer;
  }

  /**
   * Destroys every key of the stream on `client` (inside the caller's transaction: the read-model scrub commits with
   * it) and forgets them in this process. Returns the ids destroyed now (none when they were destroyed before).
   */
  async destroy(client: pg.PoolClient, streamId: string): Promise<string[]> {
    const { rows } = await client.query<{ key_id: string }>(
      `UPDATE ${TABLE} SET wrapped_key = NULL, destroyed_at = now()
        WHERE stream_id = $1 AND destroyed_at IS NULL RETURNING key_id`,
      [streamId],
    );
    this.forget(streamId);
    return rows.map((row) => row.key_id);
  }

  /** Stops the refresh (the pool is the caller's). */
  close(): void {
    clearInterval(this.refresher);
    this.refresher = undefined;
  }

  /**
   * Reads again, in one statement, whether the live keys used lately (USED_WITHIN_MS) and about to run out are still
   * live; those that are are trusted CACHE_MS from the moment before the read (never longer than a read of their own
   * would give). Keys not used lately are dropped; with none left the timer stops until the next key is read. Run by
   * the timer.
   */
  async refresh(): Promise<void> {
    if (this.refreshing) return;
    const startedAt = this.now();
    const due: string[] = [];
    for (const [streamId, entry] of this.live) {
      if (entry.usedAt < startedAt - USED_WITHIN_MS) {
        if (entry.until <= startedAt) this.live.delete(streamId);
      } else if (entry.until - startedAt <= 2 * REFRESH_MS) due.push(entry.keyId);
    }
    if (this.live.size === 0) return this.close();
    if (due.length === 0) return;
    this.refreshing = true;
    try {
      const { rows } = await this.pool.query<{ key_id: string }>(
        `SELECT key_id FROM ${TABLE} WHERE key_id = ANY($1::text[]) AND destroyed_at IS NULL`,
        [due],
      );
      const until = startedAt + CACHE_MS;
      for (const { key_id: keyId } of rows) {
        const known = this.byId.get(keyId);
        const entry = known && this.live.get(known.streamId);
        if (!known || !entry || entry.keyId !== keyId) continue; // forgotten meanwhile (an erasure here)
        known.until = entry.until = Math.max(entry.until, until);
      }
    } catch {
      // The keys run out at their time and are read again by the next append (the pool may be closing).
    } finally {
      this.refreshing = false;
    }
  }

  forget(streamId: string): void {
    this.live.delete(streamId);
    for (const [keyId, known] of this.byId) if (known.streamId === streamId) this.byId.delete(keyId);
    for (const listener of this.forgetListeners) listener(streamId);
  }

  /** Told each stream whose keys this process forgets (an erasure here): what it holds opened goes too. */
  onForget(listener: (streamId: string) => void): void {
    this.forgetListeners.push(listener);
  }

  private async readLive(streamId: string): Promise<DataKey | undefined> {
    const { rows } = await this.pool.query<{ key_id: string; wrapped_key: Buffer }>(
      `SELECT key_id, wrapped_key FROM ${TABLE} WHERE stream_id = $1 AND destroyed_at IS NULL`,
      [streamId],
    );
    const row = rows[0];
    return row ? { keyId: row.key_id, key: unwrapDataKey(this.masterKey, row.wrapped_key, row.key_id) } : undefined;
  }
}
