import { ApiOkResponse } from '@nestjs/swagger';
import { ReplayTimeBasis } from '@audit-ledger/domain';
import { StreamNotFoundError, type EventStore } from '@audit-ledger/event-store';
import { Controller, Get, Inject, Param, Query } from '@nestjs/common';
import { z } from 'zod';
import { readWholeStream } from '@audit-ledger/evidence';
import { parseRequest, RequestValidationError } from '../shared/request-validation.js';
import type { PayloadCipher } from '@audit-ledger/payload-keys';
import { EVENT_STORE, PAYLOAD_CIPHER } from '../shared/tokens.js';
import { parseAsOf, replayStream } from './replay.js';
import { toWireEvent } from '@audit-ledger/event-store';
import { Allow } from '../identity/access.js';
import { StreamReadSchema, StreamReplaySchema } from '../openapi/response-schemas.js';

const ReadStreamQuery = z
  .object({
    fromRevision: z.coerce.number().int().nonnegative().optional(),
    direction: z.enum(['forwards', 'backwards']).optional(),
    maxCount: z.coerce.number().int().positive().max(10_000).optional(),
  })
  .strict();

const ReplayQuery = z
  .object({
    asOf: z.string().min(1).max(64).optional(),
    /** `recorded` (default): as the ledger knew it at `asOf`; `occurred`: as things had happened by then. */
    by: ReplayTimeBasis.optional(),
  })
  .strict();

@Controller('v1/streams')
export class ReadStreamHttpController {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(PAYLOAD_CIPHER) private readonly cipher: PayloadCipher,
  ) {}

  @Get(':streamId')
  @Allow('reader')
  @ApiOkResponse({ description: "the stream's events, hash-chained", standardSchema: StreamReadSchema })
  async read(@Param('streamId') streamId: string, @Query({ schema: ReadStreamQuery }) query: unknown) {
    const options = parseRequest(ReadStreamQuery, query);
    const events = await this.cipher.openEvents(await this.store.readStream(streamId, options));
    return { streamId, events: events.map(toWireEvent) };
  }

  /**
   * Forensic replay: the stream as it stood at `asOf` (an ISO time or a global position), hash statuses, state; with
   * `by=occurred` (a time only), as things had happened by then rather than as the ledger had recorded them.
   */
  @Get(':streamId/events')
  @Allow('security')
  @ApiOkResponse({
    description: 'the stream as of `asOf`, each event with its hash status',
    standardSchema: StreamReplaySchema,
  })
  async replay(@Param('streamId') streamId: string, @Query({ schema: ReplayQuery }) query: unknown) {
    const { asOf: raw, by } = parseRequest(ReplayQuery, query);
    const parsed = raw === undefined ? undefined : parseAsOf(raw);
    if (parsed === null) {
      throw new RequestValidationError([{ path: 'asOf', message: 'must be an ISO 8601 time or a global position' }]);
    }
    if (by === 'occurred' && parsed?.kind !== 'time') {
      throw new RequestValidationError([{ path: 'by', message: 'by=occurred needs asOf as an ISO 8601 time' }]);
    }
    const asOf = parsed?.kind === 'time' && by ? { ...parsed, by } : parsed;
    const history = await readWholeStream(this.store, streamId);
    if (history.length === 0) throw new StreamNotFoundError(streamId);
    // Hashes are checked on the events as stored (over the ciphertext); the reply shows them opened.
    const replay = replayStream(streamId, history, asOf);
    const opened = new Map((await this.cipher.openEvents(history)).map((event) => [event.eventId, event.data]));
    return {
      ...replay,
      events: replay.events.map((event) => ({ ...event, data: opened.get(event.eventId) ?? event.data })),
    };
  }
}
