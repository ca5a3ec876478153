import pg from 'pg';
import type { Logger } from 'pino';
import { nextPeriodStart, periodStart, type PartitionPeriod } from './partition-period.js';

/** What `/health` and the metrics show of the partition rolling. */
export interface PartitionRollStatus {
  enabled: true;
  period: PartitionPeriod;
  /** Whether this process rolls (one process at a time does; the others watch). */
  rolling: boolean;
  /** The partition new events go to, and when its first event was recorded (null: empty). */
  openPartition: { name: string; firstPosition: string; openedAt: string; firstRecordedAt: string | null } | null;
  /** Partitions attached to ledger.events (closed ones not dropped yet, and the open one). */
  attachedPartitions: number;
  /** When a partition was last closed (by this ledger, `ledger archive roll` or the migration). */
  lastRollAt: string | null;
  lastRolledPartition: string | null;
  /** The open partition is rolled at the first check at or after this time. */
  nextRollAt: string;
  /** The open partition holds events of an earlier period and was not rolled yet (a failed or refused roll). */
  overdue: boolean;
  lastCheckAt: string | null;
  lastError?: string;
}

export interface PartitionRollerOptions {
  /** A login allowed to run `ledger.roll_event_partition()` (the migrations' login: DDL on the events table). */
  databaseUrl: string;
  period: PartitionPeriod;
  /** Longest sleep between two checks; a check is also made at each period start. */
  checkIntervalMs: number;
  logger: Logger;
  /** How long a roll waits for its lock on ledger.events (appends queue behind it meanwhile) before retrying later. */
  lockTimeoutMs?: number;
  /** The next check's delay while a roll is due and failed (a lock not obtained, a lost connection). */
  retryMs?: number;
  now?: () => Date;
}

/**
 * Closes the events table's open partition when a new period begins (issue 13: no cron for `ledger archive roll`):
 * at each check, if the open partition's first event was recorded before the current period's start, it is rolled
 * (`ledger.roll_event_partition()`: bounded at the next position, the next partition opened from there). The table is
 * partitioned by position, so the next period's partition cannot be made ahead of time: it is opened by this roll,
 * and the events of the new period recorded before the check (at most the time to the period start's check, plus
 * the wait for the lock) stay in the closed one. Every process checks (its status is then current); only the one
 * `setRolling(true)` was called on rolls.
 */
export class PartitionRoller {
  private rolling = false;
  private stopped = false;
  private running?: Promise<void>;
  private wake?: () => void;
  private timer?: NodeJS.Timeout;
  private current: PartitionRollStatus;
  private readonly now: () => Date;

  constructor(private readonly options: PartitionRollerOptions) {
    this.now = options.now ?? (() => new Date());
    this.current = {
      enabled: true,
      period: options.period,
      rolling: false,
      openPartition: null,
      attachedPartitions: 0,
      lastRollAt: null,
      lastRolledPartition: null,
      nextRollAt: nextPeriodStart(this.now(), options.period).toISOString(),
      overdue: false,
      lastCheckAt: null,
    };
  }

  status(): PartitionRollStatus {
    return { ...this.current, rolling: this.rolling };
  }

  /** Leadership gained or lost; gaining it checks at once. */
  async setRolling(rolling: boolean): Promise<void> {
    this.rolling = rolling;
    if (rolling) await this.check();
  }

  /** The first check (awaited), then one at each period start and at least every checkIntervalMs. */
  async start(): Promise<void> {
    await this.check();
    this.running = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.wake?.();
    await this.running;
  }

  /** Reads the partitions and rolls the open one when its first event is of an earlier period (and this one rolls). */
  async check(): Promise<PartitionRollStatus> {
    const now = this.now();
    const client = new pg.Client({
      connectionString: this.options.databaseUrl,
      application_name: 'audit-ledger partition-roller',
    });
    client.on('error', () => undefined); // a broken connection fails the query below
    try {
      await client.connect();
      let view = await readPartitions(client);
      const due = isDue(view.open?.firstRecordedAt ?? null, now, this.options.period);
      if (due && this.rolling) {
        await client.query(`SET lock_timeout = ${Math.max(1, Math.round(this.options.lockTimeoutMs ?? 5_000))}`);
        const { rows } = await client.query<{ name: string | null }>('SELECT ledger.roll_event_partition() AS name');
        const closed = rows[0]?.name ?? null;
        this.options.logger.info(
          { partition: closed, period: this.options.period, firstRecordedAt: view.open?.firstRecordedAt },
          'closed the events partition of the previous period',
        );
        view = await readPartitions(client);
      }
      this.current = {
        ...this.current,
        openPartition: view.open
          ? {
              name: view.open.name,
              firstPosition: view.open.firstPosition,
              openedAt: view.open.openedAt.toISOString(),
              firstRecordedAt: view.open.firstRecordedAt?.toISOString() ?? null,
            }
          : null,
        attachedPartitions: view.attached,
        lastRollAt: view.lastClosed?.closedAt.toISOString() ?? null,
        lastRolledPartition: view.lastClosed?.name ?? null,
        nextRollAt: nextPeriodStart(now, this.options.period).toISOString(),
        overdue: isDue(view.open?.firstRecordedAt ?? null, now, this.options.period),
        lastCheckAt: now.toISOString(),
      };
      delete this.current.lastError;
    } catch (error) {
      const message = (error as Error).message;
      this.current = { ...this.current, lastCheckAt: now.toISOString(), lastError: message };
      this.options.logger.warn({ err: error }, 'checking or rolling the events partitions failed; retried later');
    } finally {
      await client.end().catch(() => undefined);
    }
    return this.status();
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const now = this.now();
      const untilNextPeriod = nextPeriodStart(now, this.options.period).getTime() - now.getTime() + 50;
      // A roll that is due but failed is retried soon, not at the next interval.
      const late = this.rolling && (this.current.overdue || this.current.lastError !== undefined);
      const interval = late
        ? Math.min(this.options.checkIntervalMs, this.options.retryMs ?? 60_000)
        : this.options.checkIntervalMs;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        this.timer = setTimeout(resolve, Math.min(interval, Math.max(untilNextPeriod, 50)));
      });
      if (!this.stopped) await this.check();
    }
  }
}

/** Roll when the open partition holds an event recorded before the current period. */
function isDue(firstRecordedAt: Date | null, now: Date, period: PartitionPeriod): boolean {
  return firstRecordedAt !== null && firstRecordedAt < periodStart(now, period);
}

interface PartitionsView {
  open: { name: string; firstPosition: string; openedAt: Date; firstRecordedAt: Date | null } | null;
  lastClosed: { name: string; closedAt: Date } | null;
  attached: number;
}

async function readPartitions(client: pg.ClientBase): Promise<PartitionsView> {
  const { rows } = await client.query<{
    name: string;
    first_position: string;
    opened_at: Date;
    closed_at: Date | null;
    end_position: string | null;
    detached_at: Date | null;
  }>(
    `SELECT name, first_position::text, opened_at, closed_at, end_position::text, detached_at
       FROM ledger.event_partitions ORDER BY first_position`,
  );
  const openRow = rows.find((row) => row.end_position === null);
  const closed = rows.filter((row) => row.closed_at !== null).sort((a, b) => +a.closed_at! - +b.closed_at!);
  let firstRecordedAt: Date | null = null;
  if (openRow) {
    // The partition's first event, through the parent (pruned to the open partition, by its primary key).
    const first = await client.query<{ recorded_at: Date }>(
      'SELECT recorded_at FROM ledger.events WHERE global_position >= $1 ORDER BY global_position LIMIT 1',
      [openRow.first_position],
    );
    firstRecordedAt = first.rows[0]?.recorded_at ?? null;
  }
  const lastClosed = closed.at(-1);
  return {
    open: openRow
      ? { name: openRow.name, firstPosition: openRow.first_position, openedAt: openRow.opened_at, firstRecordedAt }
      : null,
    lastClosed: lastClosed ? { name: lastClosed.name, closedAt: lastClosed.closed_at! } : null,
    attached: rows.filter((row) => row.detached_at === null).length,
  };
}
