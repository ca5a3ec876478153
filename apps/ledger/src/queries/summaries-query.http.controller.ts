import { ApiOkResponse } from '@nestjs/swagger';
import { EXECUTION_RISK_LEVELS, QUERY_PROJECTIONS, type SummaryDimension } from '@audit-ledger/read-models';
import { Controller, Get, Inject, Query, Res, UseFilters } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { filterText, pageParams, parseQuery, queryObject, readParams } from './query-params.js';
import { QueriesDatabase } from './queries-database.js';
import { ReadModelNotCaughtUpFilter, stampReadPosition } from './read-position.js';
import { Allow } from '../identity/access.js';
import { SummariesSchema } from '../openapi/response-schemas.js';

const DIMENSIONS = ['worker', 'riskLevel', 'toolName', 'session'] as const;

const SummariesShape = {
  ...readParams,
  groupBy: z
    .string()
    .max(200)
    .transform((value) => (value === '' ? [] : value.split(',').map((d) => d.trim())))
    .pipe(z.array(z.enum(DIMENSIONS)))
    .optional(),
  bucket: z.enum(['hour', 'day', 'week']).optional(),
  from: pageParams.from,
  to: pageParams.to,
  workerId: filterText,
  toolName: filterText,
  riskLevel: z.enum(EXECUTION_RISK_LEVELS).optional(),
  sessionId: filterText,
  exact: z.enum(['true', 'false']).optional(),
};
const SummariesQuery = queryObject(SummariesShape);

/**
 * `GET /v1/summaries?groupBy=worker,riskLevel,toolName&bucket=hour|day|week&from&to`: executions per UTC time
 * bucket and dimension, with successes (exit code 0), failures, total and p95 duration, and the current mismatches
 * by kind (`mismatchesByKind`); from `read_models.summary_rollups` where they cover the grouping (p95 from duration
 * histograms, `p95: "histogram"`), else (or with `exact=true`) aggregated from `read_models.executions` and
 * `read_models.mismatches` (`p95: "exact"`).
 */
@Controller('v1/summaries')
@UseFilters(ReadModelNotCaughtUpFilter)
export class SummariesQueryHttpController {
  constructor(@Inject(QueriesDatabase) private readonly db: QueriesDatabase) {}

  @Get()
  @Allow('reader')
  @ApiOkResponse({ description: 'counts and times per bucket and group', standardSchema: SummariesSchema })
  async summaries(@Query({ schema: SummariesQuery }) query: unknown, @Res({ passthrough: true }) reply: FastifyReply) {
    const params = parseQuery(SummariesQuery, Object.keys(SummariesShape), query);
    await stampReadPosition(this.db.queries, reply, QUERY_PROJECTIONS.summaries, params.minPosition);
    return this.db.queries.summaries({
      ...params,
      groupBy: (params.groupBy ?? []) as SummaryDimension[],
      bucket: params.bucket ?? 'day',
      exact: params.exact === 'true',
    });
  }
}
