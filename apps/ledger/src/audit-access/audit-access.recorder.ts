import type { EventStore } from '@audit-ledger/event-store';
import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { CLOCK, EVENT_STORE, LOGGER, type Clock } from '../shared/tokens.js';

const AUDIT_DATA_ACCESSED = 'AuditDataAccessed';
const ACCESS_STREAM_PREFIX = 'access-';

/** One read of audit data (docs/integrity.md §10). */
export interface AuditDataAccess {
  /** Who: the authenticated principal (`actorOf`). */
  actor: string;
  /** What: e.g. `GET /v1/streams/:streamId/events`. */
  route: string;
  params: Record<string, string>;
  /** The query string's parameters (filters, asOf…). */
  filters: Record<string, unknown>;
  /** HTTP status answered, when known. */
  status?: number;
}

/** `access-<yyyy-mm-dd>` (UTC) of a moment. */
export const accessStreamId = (at: Date): string => `${ACCESS_STREAM_PREFIX}${at.toISOString().slice(0, 10)}`;

/**
 * Appends an `AuditDataAccessed` event per read to `access-<yyyy-mm-dd>` through the event store port. Never throws
 * and never makes the reader wait: a failed append is logged. Callable from any slice (`record`).
 */
@Injectable()
export class AuditAccessRecorder {
  private readonly pending = new Set<Promise<void>>();

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  record(access: AuditDataAccess): void {
    const at = this.clock.now();
    let append: Promise<void>;
    try {
      append = this.store
        .appendToStream(
          accessStreamId(at),
          [
            {
              eventId: randomUUID(),
              type: AUDIT_DATA_ACCESSED,
              data: {
                actor: access.actor,
                route: access.route,
                params: access.params,
                filters: access.filters,
                ...(access.status !== undefined ? { status: access.status } : {}),
                accessedAt: at.toISOString(),
              },
              metadata: {},
            },
          ],
          { expectedRevision: 'any' },
        )
        .then(
          () => undefined,
          (error: unknown) => this.logger.error({ err: error, access }, 'could not record an audit data access'),
        );
    } catch (error) {
      this.logger.error({ err: error, access }, 'could not record an audit data access');
      return;
    }
    this.pending.add(append);
    void append.finally(() => this.pending.delete(append));
  }

  /** Waits for the appends under way (for an orderly shutdown and for tests). */
  async flush(): Promise<void> {
    await Promise.all([...this.pending]);
  }
}
