import type { MismatchItem, ReadModelQueries } from '@audit-ledger/read-models';
import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import { QueriesDatabase } from './queries-database.js';

/** How often each open stream looks for mismatches projected since its last one. */
const MISMATCH_POLL_MS = 1000;
const HEARTBEAT_MS = 15_000;
/** Rows per look; a full batch is followed by another look at once. */
const BATCH = 100;

/** One `event: mismatch` frame: `id` is the mismatch's global position, what a reconnect resumes after. */
const mismatchFrame = (row: MismatchItem): string =>
  `id: ${row.globalPosition}\nevent: mismatch\ndata: ${JSON.stringify(row)}\n\n`;

/**
 * The open `GET /v1/mismatches/stream` connections: each reads `read_models.mismatches` after the global position it
 * last sent (so a reconnect with `Last-Event-ID` misses nothing and repeats nothing, whatever happened meanwhile), every
 * `MISMATCH_POLL_MS`, and sends a comment every 15 s so proxies keep it open. Ended at shutdown.
 */
@Injectable()
export class MismatchStreams implements OnApplicationShutdown {
  private readonly open = new Set<() => void>();

  constructor(@Inject(QueriesDatabase) private readonly db: QueriesDatabase) {}

  /** Starts streaming to `response` the mismatches projected after global position `after`. */
  attach(response: ServerResponse, after: bigint): void {
    const queries = this.db.queries;
    let last = after;
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    if (response.req?.method === 'HEAD') {
      response.end(); // a HEAD has no body to stream: without the end its headers would never go out
      return;
    }
    response.write(`: audit-ledger mismatches after ${last}\nretry: 2000\n\n`);
    let busy = false;
    let closed = false;
    const poll = async () => {
      if (busy || closed) return;
      busy = true;
      try {
        for (;;) {
          const rows = await sendAfter(queries, response, last);
          if (rows.length > 0) last = BigInt(rows.at(-1)!.globalPosition);
          if (rows.length < BATCH || closed) break;
          // A long catch-up to a slow reader: wait until it has taken what was sent (memory stays flat).
          if (response.writableNeedDrain) await Promise.race([once(response, 'drain'), once(response, 'close')]);
        }
      } catch {
        // the read model is unreachable for now: the next look tries again from the same position
      } finally {
        busy = false;
      }
    };
    const timer = setInterval(() => void poll(), MISMATCH_POLL_MS);
    const heartbeat = setInterval(() => response.write(': keep-alive\n\n'), HEARTBEAT_MS);
    const end = () => {
      closed = true;
      clearInterval(timer);
      clearInterval(heartbeat);
      this.open.delete(end);
      if (!response.writableEnded) response.end();
    };
    this.open.add(end);
    response.on('close', end);
    void poll();
  }

  onApplicationShutdown(): void {
    for (const end of [...this.open]) end();
  }
}

async function sendAfter(queries: ReadModelQueries, response: ServerResponse, after: bigint): Promise<MismatchItem[]> {
  const rows = await queries.mismatchesAfter(after, BATCH);
  if (rows.length > 0 && !response.writableEnded) response.write(rows.map(mismatchFrame).join(''));
  return rows;
}
