import {
  MISMATCH_EXPORT_COLUMNS,
  MismatchItemSchema,
  pageSchema,
  QUERY_PROJECTIONS,
  type MismatchItem,
} from '@audit-ledger/read-models';
import { Controller, Get, Headers, Inject, Query, Res, UseFilters } from '@nestjs/common';
import { ApiOkResponse, ApiProduces } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { exportFile, exportFormat } from './export-file.js';
import { MismatchStreams } from './mismatch-streams.js';
import { filterText, pageParams, parseQuery, queryObject } from './query-params.js';
import { QueriesDatabase } from './queries-database.js';
import { ReadModelNotCaughtUpFilter, stampReadPosition } from './read-position.js';
import { AcceptQueryCredential, Allow } from '../identity/access.js';
import { RequestValidationError } from '../shared/request-validation.js';
import { EVENT_STREAM_CONTENT, EXPORT_CONTENT } from '../openapi/response-schemas.js';

const mismatchFilters = {
  approvalId: filterText,
  executionId: filterText,
  /** Its own session, else its execution's, else its approval's. */
  sessionId: filterText,
  /** Its execution's worker, else its approval's requesting worker. */
  workerId: filterText,
  kind: filterText,
  severity: filterText,
  /** Review state (open, reviewed) or the resolution of a reviewed one (confirmed, false_positive). */
  status: z.enum(['open', 'reviewed', 'confirmed', 'false_positive']).optional(),
};
const ListMismatchesShape = { ...pageParams, ...mismatchFilters };
const ListMismatchesQuery = queryObject(ListMismatchesShape);
const { limit: _limit, cursor: _cursor, ...exportPageParams } = pageParams;
const ExportShape = { ...exportPageParams, ...mismatchFilters, format: exportFormat };
const ExportQuery = queryObject(ExportShape);

const position = z.string().regex(/^\d{1,19}$/, 'a global position (decimal digits)');
const StreamShape = {
  /** Resume after this global position (the `Last-Event-ID` header wins: it is what a reconnect sends). */
  after: position.optional(),
  /** The credential, for EventSource, which cannot send headers (this route only). */
  access_token: z.string().min(1).max(8192).optional(),
};
const StreamQuery = z.strictObject(StreamShape);

/**
 * `GET /v1/mismatches` (filters, keyset pages, newest first; `q` searches the explanation),
 * `GET /v1/mismatches/export?format=csv|json|jsonl&…filters` (streamed) and `GET /v1/mismatches/stream`
 * (server-sent events, one `mismatch` event per new mismatch, resumable).
 */
@Controller('v1/mismatches')
@UseFilters(ReadModelNotCaughtUpFilter)
export class MismatchesQueryHttpController {
  constructor(
    @Inject(QueriesDatabase) private readonly db: QueriesDatabase,
    @Inject(MismatchStreams) private readonly streams: MismatchStreams,
  ) {}

  @Get()
  @Allow('reader')
  @ApiOkResponse({ description: 'a keyset page of mismatches', standardSchema: pageSchema(MismatchItemSchema) })
  async list(@Query({ schema: ListMismatchesQuery }) query: unknown, @Res({ passthrough: true }) reply: FastifyReply) {
    const filter = parseQuery(ListMismatchesQuery, Object.keys(ListMismatchesShape), query);
    await stampReadPosition(this.db.queries, reply, QUERY_PROJECTIONS.mismatches, filter.minPosition);
    return this.db.queries.listMismatches(filter);
  }

  @Get('export')
  @Allow('reader')
  @ApiProduces('text/csv', 'application/json', 'application/x-ndjson')
  @ApiOkResponse({
    description: 'every matching mismatch, streamed: CSV (RFC 4180), a JSON array or JSON lines',
    content: EXPORT_CONTENT,
  })
  async export(@Query({ schema: ExportQuery }) query: unknown, @Res({ passthrough: true }) reply: FastifyReply) {
    const { format, ...filter } = parseQuery(ExportQuery, Object.keys(ExportShape), query);
    await stampReadPosition(this.db.queries, reply, QUERY_PROJECTIONS.mismatches, filter.minPosition);
    return exportFile('mismatches', format, this.db.queries.streamMismatches(filter), {
      columns: MISMATCH_EXPORT_COLUMNS,
      fields: (row: MismatchItem) => MISMATCH_EXPORT_COLUMNS.map((column) => row[column]),
    });
  }

  @Get('stream')
  @Allow('reader')
  @AcceptQueryCredential()
  @ApiProduces('text/event-stream')
  @ApiOkResponse({
    description: 'event: mismatch, id: its global position, data: the mismatch as in GET /v1/mismatches',
    content: EVENT_STREAM_CONTENT,
  })
  async stream(
    @Query({ schema: StreamQuery }) query: unknown,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const { after } = parseQuery(StreamQuery, Object.keys(StreamShape), query);
    if (lastEventId !== undefined && !position.safeParse(lastEventId).success) {
      throw new RequestValidationError([
        { path: 'Last-Event-ID', message: 'must be the id of an event this stream sent (a global position)' },
      ]);
    }
    const from = lastEventId ?? after;
    // Without a resume point, only mismatches projected from now on (read before the answer starts: a failure is a 503)
    const start = from === undefined ? await this.db.queries.lastMismatchPosition() : BigInt(from);
    reply.hijack();
    this.streams.attach(reply.raw, start);
  }
}
