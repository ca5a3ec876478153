import type { EventStore } from '@audit-ledger/event-store';
import { dashboardOverview, QUERY_PROJECTIONS } from '@audit-ledger/read-models';
import { Controller, Get, Inject, Query, Res, UseFilters } from '@nestjs/common';
import { ApiOkResponse } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { lastCheckpoint } from '@audit-ledger/evidence';
import { parseQuery, readParams } from './query-params.js';
import { QueriesDatabase } from './queries-database.js';
import { ReadModelNotCaughtUpFilter, stampReadPosition } from './read-position.js';
import { Allow } from '../identity/access.js';
import { EVENT_STORE } from '../shared/tokens.js';
import { DashboardOverviewSchema } from '../openapi/response-schemas.js';

const DAY_MS = 86_400_000;
/** The longest range per bucket (points on a chart): 31 days of hours, 400 days of days. */
const MAX_RANGE_MS = { hour: 31 * DAY_MS, day: 400 * DAY_MS } as const;
/** Without `from`: the last day by hours, the last 30 days by days. */
const DEFAULT_RANGE_MS = { hour: DAY_MS, day: 30 * DAY_MS } as const;

const time = z.iso.datetime({ offset: true }).transform((value) => new Date(value));
const OverviewShape = {
  ...readParams,
  from: time.optional(),
  to: time.optional(),
  bucket: z.enum(['hour', 'day']).optional(),
};
const OverviewQuery = z.strictObject(OverviewShape).transform((value, ctx) => {
  const bucket = value.bucket ?? 'hour';
  const to = value.to ?? new Date();
  const from = value.from ?? new Date(to.getTime() - DEFAULT_RANGE_MS[bucket]);
  if (from >= to) ctx.addIssue({ code: 'custom', path: ['to'], message: 'must be after from' });
  else if (to.getTime() - from.getTime() > MAX_RANGE_MS[bucket]) {
    ctx.addIssue({
      code: 'custom',
      path: ['from'],
      message: `a range by ${bucket} covers at most ${MAX_RANGE_MS[bucket] / DAY_MS} days`,
    });
  }
  return { minPosition: value.minPosition, from, to, bucket };
});

/**
 * `GET /v1/dashboard/overview?from&to&bucket=hour|day`: the dashboard's first page in one answer (series of
 * executions, mismatches and unclear verdicts, mismatches by kind and severity, approvals by status, top workers,
 * tools and sessions, how long humans took to approve, read-model lag, the last checkpoint). docs/api.md.
 */
@Controller('v1/dashboard')
@UseFilters(ReadModelNotCaughtUpFilter)
export class DashboardOverviewHttpController {
  constructor(
    @Inject(QueriesDatabase) private readonly db: QueriesDatabase,
    @Inject(EVENT_STORE) private readonly store: EventStore,
  ) {}

  @Get('overview')
  @Allow('reader')
  @ApiOkResponse({ description: 'the overview of the range', standardSchema: DashboardOverviewSchema })
  async overview(@Query({ schema: OverviewQuery }) query: unknown, @Res({ passthrough: true }) reply: FastifyReply) {
    const { minPosition, ...range } = parseQuery(OverviewQuery, Object.keys(OverviewShape), query);
    await stampReadPosition(this.db.queries, reply, QUERY_PROJECTIONS.overview, minPosition);
    const [overview, checkpoint] = await Promise.all([
      dashboardOverview(this.db.pool, this.db.queries, range),
      lastCheckpoint(this.store),
    ]);
    return {
      ...overview,
      lastCheckpoint: checkpoint
        ? { position: checkpoint.checkpoint.toPosition, sealedAt: checkpoint.checkpoint.sealedAt }
        : null,
    };
  }
}
