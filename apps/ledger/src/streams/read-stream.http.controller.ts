import { StreamNotFoundError, type EventStore } from '@audit-ledger/event-store';
import { Controller, Get, Inject, Param, Query } from '@nestjs/common';
import { z } from 'zod';
import { readWholeStream } from '../integrity/evidence-exporter.js';
import { parseRequest, RequestValidationError } from '../shared/request-validation.js';
import { EVENT_STORE } from '../shared/tokens.js';
import { parseAsOf, replayStream } from './replay.js';
import { toWireEvent } from './wire-event.js';
import { Allow } from '../identity/access.js';

const ReadStreamQuery = z
  .object({
    fromRevision: z.coerce.number().int().nonnegative().optional(),
    direction: z.enum(['forwards', 'backwards']).optional(),
    maxCount: z.coerce.number().int().positive().max(10_000).optional(),
  })
  .strict();

const ReplayQuery = z.object({ asOf: z.string().min(1).max(64).optional() }).strict();

export { toWireEvent };

@Controller('v1/streams')
export class ReadStreamHttpController {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  @Get(':streamId')
  @Allow('reader')
  async read(@Param('streamId') streamId: string, @Query({ schema: ReadStreamQuery }) query: unknown) {
    const options = parseRequest(ReadStreamQuery, query);
    const events = await this.store.readStream(streamId, options);
    return { streamId, events: events.map(toWireEvent) };
  }

  /** Forensic replay: the stream as it stood at `asOf` (an ISO time or a global position), hash statuses, state. */
  @Get(':streamId/events')
  @Allow('security')
  async replay(@Param('streamId') streamId: string, @Query({ schema: ReplayQuery }) query: unknown) {
    const { asOf: raw } = parseRequest(ReplayQuery, query);
    const asOf = raw === undefined ? undefined : parseAsOf(raw);
    if (asOf === null) {
      throw new RequestValidationError([{ path: 'asOf', message: 'must be an ISO 8601 time or a global position' }]);
    }
    const history = await readWholeStream(this.store, streamId);
    if (history.length === 0) throw new StreamNotFoundError(streamId);
    return replayStream(streamId, history, asOf);
  }
}
