import { type EventStore, type RecordedEvent } from '@audit-ledger/event-store';
import { Controller, Get, Inject, Param, Query } from '@nestjs/common';
import { z } from 'zod';
import { parseRequest } from '../shared/request-validation.js';
import { EVENT_STORE } from '../shared/tokens.js';

const ReadStreamQuery = z
  .object({
    fromRevision: z.coerce.number().int().nonnegative().optional(),
    direction: z.enum(['forwards', 'backwards']).optional(),
    maxCount: z.coerce.number().int().positive().max(10_000).optional(),
  })
  .strict();

export function toWireEvent(event: RecordedEvent) {
  return {
    eventId: event.eventId,
    type: event.type,
    streamId: event.streamId,
    streamRevision: event.streamRevision,
    globalPosition: event.globalPosition.toString(),
    data: event.data,
    metadata: event.metadata,
    prevHash: event.prevHash,
    hash: event.hash,
    recordedAt: event.recordedAt.toISOString(),
  };
}

@Controller('v1/streams')
export class ReadStreamHttpController {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  @Get(':streamId')
  async read(@Param('streamId') streamId: string, @Query() query: unknown) {
    const options = parseRequest(ReadStreamQuery, query);
    const events = await this.store.readStream(streamId, options);
    return { streamId, events: events.map(toWireEvent) };
  }
}
