import { pageSchema, QUERY_PROJECTIONS } from '@audit-ledger/read-models';
import { Controller, Get, Inject, NotFoundException, Param, Query, Res, UseFilters } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOkResponse } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { pageParams, parseQuery, queryObject, readParams } from './query-params.js';
import { QueriesDatabase } from './queries-database.js';
import { ReadModelNotCaughtUpFilter, stampReadPosition } from './read-position.js';
import { Allow } from '../identity/access.js';
import { SessionItemSchema } from '../openapi/response-schemas.js';

const ListSessionsShape = pageParams;
const ListSessionsQuery = queryObject(ListSessionsShape);
const ReadQuery = z.strictObject(readParams);

/**
 * `GET /v1/sessions` (session summaries, most recently active first; `from`/`to` keep the sessions active in the
 * range, `q` searches the session id) and `GET /v1/sessions/:sessionId`: the old audit store's session summary, total
 * actions, by risk, approved, rejected, successful, failed, total duration (`read_models.session_summaries`).
 */
@Controller('v1/sessions')
@UseFilters(ReadModelNotCaughtUpFilter)
export class SessionsQueryHttpController {
  constructor(@Inject(QueriesDatabase) private readonly db: QueriesDatabase) {}

  @Get()
  @Allow('reader')
  @ApiOkResponse({ description: 'a keyset page of session summaries', standardSchema: pageSchema(SessionItemSchema) })
  async list(@Query({ schema: ListSessionsQuery }) query: unknown, @Res({ passthrough: true }) reply: FastifyReply) {
    const filter = parseQuery(ListSessionsQuery, Object.keys(ListSessionsShape), query);
    await stampReadPosition(this.db.queries, reply, QUERY_PROJECTIONS.sessions, filter.minPosition);
    return this.db.queries.listSessions(filter);
  }

  @Get(':sessionId')
  @Allow('reader')
  @ApiOkResponse({ description: "the session's summary", standardSchema: SessionItemSchema })
  @ApiNotFoundResponse({ description: 'no action of this session in the read model (yet)' })
  async get(
    @Param('sessionId') sessionId: string,
    @Query({ schema: ReadQuery }) query: unknown,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const { minPosition } = parseQuery(ReadQuery, Object.keys(readParams), query);
    await stampReadPosition(this.db.queries, reply, QUERY_PROJECTIONS.sessions, minPosition);
    const session = await this.db.queries.getSession(sessionId);
    if (!session) throw new NotFoundException(`No session ${sessionId} in the read model`);
    return session;
  }
}
