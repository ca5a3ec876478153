import { MismatchItemSchema, pageSchema, QUERY_PROJECTIONS } from '@audit-ledger/read-models';
import { Controller, Get, Inject, Query, Res, UseFilters } from '@nestjs/common';
import { ApiOkResponse } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { filterText, pageParams, parseQuery, queryObject } from './query-params.js';
import { QueriesDatabase } from './queries.providers.js';
import { ReadModelNotCaughtUpFilter, stampReadPosition } from './read-position.js';
import { Allow } from '../identity/access.js';

const ListMismatchesShape = {
  ...pageParams,
  approvalId: filterText,
  executionId: filterText,
  kind: filterText,
  severity: filterText,
  /** Review state. */
  status: filterText,
};
const ListMismatchesQuery = queryObject(ListMismatchesShape);

/** `GET /v1/mismatches` (filters, keyset pages, newest first; `q` searches the explanation). */
@Controller('v1/mismatches')
@UseFilters(ReadModelNotCaughtUpFilter)
export class MismatchesQueryHttpController {
  constructor(@Inject(QueriesDatabase) private readonly db: QueriesDatabase) {}

  @Get()
  @Allow('reader')
  @ApiOkResponse({ description: 'a keyset page of mismatches', standardSchema: pageSchema(MismatchItemSchema) })
  async list(@Query({ schema: ListMismatchesQuery }) query: unknown, @Res({ passthrough: true }) reply: FastifyReply) {
    const filter = parseQuery(ListMismatchesQuery, Object.keys(ListMismatchesShape), query);
    await stampReadPosition(this.db.queries, reply, QUERY_PROJECTIONS.mismatches, filter.minPosition);
    return this.db.queries.listMismatches(filter);
  }
}
