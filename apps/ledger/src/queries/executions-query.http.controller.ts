import {
  EXECUTION_EXPORT_COLUMNS,
  EXECUTION_RISK_LEVELS,
  ExecutionItemSchema,
  pageSchema,
  QUERY_PROJECTIONS,
  RECONCILIATION_VERDICTS,
  type ExecutionItem,
} from '@audit-ledger/read-models';
import { Controller, Get, Inject, NotFoundException, Param, Query, Res, UseFilters } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOkResponse, ApiProduces } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { exportFile, exportFormat } from './export-file.js';
import { filterText, pageParams, parseQuery, queryObject, readParams } from './query-params.js';
import { QueriesDatabase } from './queries-database.js';
import { ReadModelNotCaughtUpFilter, stampReadPosition } from './read-position.js';
import { Allow } from '../identity/access.js';
import { EXPORT_CONTENT } from '../openapi/response-schemas.js';

const executionFilters = {
  approvalId: filterText,
  sessionId: filterText,
  workerId: filterText,
  toolName: filterText,
  riskLevel: z.enum(EXECUTION_RISK_LEVELS).optional(),
  status: z.enum(['success', 'failure']).optional(),
  verdict: z.enum(RECONCILIATION_VERDICTS).optional(),
};
const ListExecutionsShape = { ...pageParams, ...executionFilters };
const ListExecutionsQuery = queryObject(ListExecutionsShape);
const { limit: _limit, cursor: _cursor, ...exportPageParams } = pageParams;
const ExportShape = { ...exportPageParams, ...executionFilters, format: exportFormat };
const ExportQuery = queryObject(ExportShape);
const ReadQuery = z.strictObject(readParams);

/**
 * `GET /v1/executions` (filters, keyset pages, newest first), `GET /v1/executions/:executionId` and
 * `GET /v1/executions/export?format=csv|json|jsonl&…filters` (streamed, all matching rows).
 */
@Controller('v1/executions')
@UseFilters(ReadModelNotCaughtUpFilter)
export class ExecutionsQueryHttpController {
  constructor(@Inject(QueriesDatabase) private readonly db: QueriesDatabase) {}

  @Get()
  @Allow('reader')
  @ApiOkResponse({ description: 'a keyset page of executions', standardSchema: pageSchema(ExecutionItemSchema) })
  async list(@Query({ schema: ListExecutionsQuery }) query: unknown, @Res({ passthrough: true }) reply: FastifyReply) {
    const filter = parseQuery(ListExecutionsQuery, Object.keys(ListExecutionsShape), query);
    await stampReadPosition(this.db.queries, reply, QUERY_PROJECTIONS.executions, filter.minPosition);
    return this.db.queries.listExecutions(filter);
  }

  @Get('export')
  @Allow('reader')
  @ApiProduces('text/csv', 'application/json', 'application/x-ndjson')
  @ApiOkResponse({
    description: 'every matching execution, streamed: CSV (RFC 4180), a JSON array or JSON lines',
    content: EXPORT_CONTENT,
  })
  async export(@Query({ schema: ExportQuery }) query: unknown, @Res({ passthrough: true }) reply: FastifyReply) {
    const { format, ...filter } = parseQuery(ExportQuery, Object.keys(ExportShape), query);
    await stampReadPosition(this.db.queries, reply, QUERY_PROJECTIONS.executions, filter.minPosition);
    return exportFile('executions', format, this.db.queries.streamExecutions(filter), {
      columns: EXECUTION_EXPORT_COLUMNS,
      fields: (row: ExecutionItem) => EXECUTION_EXPORT_COLUMNS.map((column) => row[column]),
    });
  }

  @Get(':executionId')
  @Allow('reader')
  @ApiOkResponse({ description: 'the execution', standardSchema: ExecutionItemSchema })
  @ApiNotFoundResponse({ description: 'not in the read model (yet)' })
  async get(
    @Param('executionId') executionId: string,
    @Query({ schema: ReadQuery }) query: unknown,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const { minPosition } = parseQuery(ReadQuery, Object.keys(readParams), query);
    await stampReadPosition(this.db.queries, reply, QUERY_PROJECTIONS.executions, minPosition);
    const execution = await this.db.queries.getExecution(executionId);
    if (!execution) throw new NotFoundException(`No execution ${executionId} in the read model`);
    return execution;
  }
}
