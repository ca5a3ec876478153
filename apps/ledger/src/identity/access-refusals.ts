import type { EventStore } from '@audit-ledger/event-store';
import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { accessStreamId } from '../audit-access/audit-access.recorder.js';
import { CLOCK, EVENT_STORE, LOGGER, type Clock } from '../shared/tokens.js';
import type { Entrance } from './presented-credential.js';

export const ACCESS_REFUSED = 'AccessRefused';

/** At most one `AccessRefused` event per (code, entrance) per window; the rest are counted into the next one. */
export const REFUSAL_RECORD_WINDOW_MS = 1_000;

export interface AccessRefusal {
  /** `AUTH.UNAUTHENTICATED` (401), `AUTH.FORBIDDEN` (403) or `AUTH.RATE_LIMITED` (429). */
  code: string;
  entrance: Entrance;
  /** The route or pattern refused, e.g. `POST /v1/approvals`. */
  target: string;
  reason: string;
}

/** Refusals since the start, by code and entrance (exposed by /health). */
export type RefusalCounts = Record<string, Partial<Record<Entrance, number>>>;

interface Window {
  timer: NodeJS.Timeout;
  suppressed: number;
  last?: AccessRefusal;
}

/**
 * Counts every refusal and records them as `AccessRefused` events in the day's `access-<yyyy-mm-dd>` stream, rate
 * limited so a flood cannot fill the store: the first refusal of a (code, entrance) is recorded at once, the ones
 * within the next {@link REFUSAL_RECORD_WINDOW_MS} only counted, then one event says how many there were and what the
 * last one was. Never throws and never delays the refusal.
 */
@Injectable()
export class AccessRefusals implements OnApplicationShutdown {
  private readonly counts: RefusalCounts = {};
  private readonly windows = new Map<string, Window>();
  private readonly pending = new Set<Promise<void>>();

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  refused(refusal: AccessRefusal): void {
    const byEntrance = (this.counts[refusal.code] ??= {});
    byEntrance[refusal.entrance] = (byEntrance[refusal.entrance] ?? 0) + 1;
    const key = `${refusal.code} ${refusal.entrance}`;
    const window = this.windows.get(key);
    if (window) {
      window.suppressed++;
      window.last = refusal;
      return;
    }
    this.record(refusal, 1);
    this.open(key);
  }

  counted(): RefusalCounts {
    return structuredClone(this.counts);
  }

  /** Records what the open windows counted and waits for the appends (orderly shutdown, tests). */
  async flush(): Promise<void> {
    for (const key of [...this.windows.keys()]) this.close(key, false);
    await Promise.all([...this.pending]);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.flush();
  }

  private open(key: string): void {
    const timer = setTimeout(() => this.close(key, true), REFUSAL_RECORD_WINDOW_MS);
    timer.unref();
    this.windows.set(key, { timer, suppressed: 0 });
  }

  private close(key: string, reopen: boolean): void {
    const window = this.windows.get(key);
    if (!window) return;
    clearTimeout(window.timer);
    this.windows.delete(key);
    if (window.suppressed === 0 || !window.last) return;
    this.record(window.last, window.suppressed);
    if (reopen) this.open(key); // a flood goes on: still at most one event per window
  }

  private record(refusal: AccessRefusal, count: number): void {
    // Logged as recorded, not per refusal: a flood of bad requests must not become a flood of log lines.
    this.logger.warn({ ...refusal, count }, count === 1 ? 'access refused' : `access refused ${count} times`);
    const at = this.clock.now();
    const append = this.store
      .appendToStream(
        accessStreamId(at),
        [
          {
            eventId: randomUUID(),
            type: ACCESS_REFUSED,
            data: {
              code: refusal.code,
              entrance: refusal.entrance,
              target: refusal.target.slice(0, 300),
              reason: refusal.reason.slice(0, 500),
              count,
              recordedAt: at.toISOString(),
            },
            metadata: { actor: 'system:access-guard' },
          },
        ],
        { expectedRevision: 'any' },
      )
      .then(
        () => undefined,
        (error: unknown) => this.logger.error({ err: error, refusal }, 'could not record an access refusal'),
      );
    this.pending.add(append);
    void append.finally(() => this.pending.delete(append));
  }
}
