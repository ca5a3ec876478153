import { advisoryLockKey } from '@audit-ledger/read-models';
import pg from 'pg';
import type { Logger } from 'pino';

/** Where this process stands for one worker that must run in one process at a time. */
export type LeadershipRole = 'starting' | 'leader' | 'standby' | 'reconnecting' | 'stopped';

export interface LeadershipStatus {
  role: LeadershipRole;
  /** ISO time the role last changed. */
  since: string;
  lastError?: string;
}

/** What runs while this process leads: started on taking the lock, stopped on losing it or on `stop()`. */
export interface LeaderTerm {
  stop(): Promise<void>;
}

export interface AdvisoryLeadershipOptions {
  connectionString: string;
  /** The worker's name; its lock key is `advisoryLockKey('leader:' + name)`. */
  name: string;
  logger: Logger;
  /** How often a standby tries the lock, and a leader checks that its connection (and so its lock) is alive. */
  retryMs?: number;
}

/**
 * One process at a time runs a worker: each process keeps a connection of its own and tries a session-level
 * `pg_try_advisory_lock` on it every `retryMs`; the one that gets it starts the worker (`lead()`) and holds the lock
 * as long as the connection lives. When that process dies (even SIGKILL: the server sees the socket close and ends
 * the session) or its connection breaks, the lock is released by PostgreSQL and a standby takes it within `retryMs`.
 * A leader that notices its connection is gone (a failed check) stops its worker before trying again, so a worker
 * runs in two processes at most for the moment a broken connection goes unnoticed; the workers led this way write
 * idempotently (deterministic event ids, checkpoints that never move backwards), so that moment duplicates nothing.
 */
export class AdvisoryLeadership {
  private role: LeadershipRole = 'starting';
  private since = new Date();
  private lastError?: string;
  private stopped = false;
  private wake?: () => void;
  private running?: Promise<void>;
  private readonly key: string;
  private readonly retryMs: number;
  private decided?: () => void;

  constructor(
    private readonly options: AdvisoryLeadershipOptions,
    private readonly lead: () => Promise<LeaderTerm>,
  ) {
    this.key = advisoryLockKey(`leader:${options.name}`);
    this.retryMs = options.retryMs ?? 1000;
  }

  /** Starts trying; resolves once this process has either started the worker or found another process leading. */
  async start(): Promise<void> {
    if (this.running) return;
    const decided = new Promise<void>((resolve) => (this.decided = resolve));
    this.running = this.loop();
    await decided;
  }

  status(): LeadershipStatus {
    return {
      role: this.role,
      since: this.since.toISOString(),
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }

  /** Stops the worker if this process leads, then releases the lock (by closing the connection). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.running;
  }

  private setRole(role: LeadershipRole): void {
    this.decided?.();
    if (role === this.role) return;
    this.role = role;
    this.since = new Date();
    this.options.logger.info({ worker: this.options.name, role }, 'worker leadership changed');
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const client = new pg.Client({
        connectionString: this.options.connectionString,
        application_name: `audit-ledger leader:${this.options.name}`,
        keepAlive: true,
        // A check that hangs (a half-open connection) counts as a lost connection.
        query_timeout: Math.max(this.retryMs * 5, 5000),
      });
      let broken: Error | undefined;
      client.on('error', (error) => {
        broken = error;
        this.wake?.();
      });
      let term: LeaderTerm | undefined;
      try {
        await client.connect();
        while (!this.stopped && !(await this.tryLock(client))) {
          this.setRole('standby');
          await this.pause();
          if (broken) throw broken;
        }
        if (this.stopped) break;
        term = await this.lead();
        this.setRole('leader');
        this.lastError = undefined;
        while (!this.stopped) {
          await this.pause();
          if (broken) throw broken;
          if (!this.stopped) await client.query('SELECT 1');
        }
      } catch (error) {
        if (this.stopped) break;
        this.lastError = error instanceof Error ? error.message : String(error);
        this.options.logger.warn({ err: error, worker: this.options.name }, 'worker leadership lost; retrying');
        this.setRole('reconnecting');
        await term?.stop().catch(() => undefined);
        term = undefined;
        await this.pause();
      } finally {
        await term?.stop().catch(() => undefined);
        await client.end().catch(() => undefined);
      }
    }
    this.setRole('stopped');
  }

  private async tryLock(client: pg.Client): Promise<boolean> {
    const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS locked', [
      this.key,
    ]);
    return rows[0]?.locked === true;
  }

  private pause(): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.retryMs);
      timer.unref();
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
