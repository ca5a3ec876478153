import { Module } from '@nestjs/common';
import { DATABASE_URL } from '../shared/tokens.js';
import { ApprovalsQueryHttpController } from './approvals-query.http.controller.js';
import { DashboardOverviewHttpController } from './dashboard-overview.http.controller.js';
import { ExecutionsQueryHttpController } from './executions-query.http.controller.js';
import { MismatchStreams } from './mismatch-streams.js';
import { MismatchesQueryHttpController } from './mismatches-query.http.controller.js';
import { QueriesDatabase, QUERIES_DATABASE_URL } from './queries-database.js';
import { SessionsQueryHttpController } from './sessions-query.http.controller.js';
import { SummariesQueryHttpController } from './summaries-query.http.controller.js';

/** The query API over the read models, on its own read-only pool. */
@Module({
  controllers: [
    ApprovalsQueryHttpController,
    ExecutionsQueryHttpController,
    MismatchesQueryHttpController,
    SummariesQueryHttpController,
    SessionsQueryHttpController,
    DashboardOverviewHttpController,
  ],
  providers: [{ provide: QUERIES_DATABASE_URL, useExisting: DATABASE_URL }, QueriesDatabase, MismatchStreams],
})
export class QueriesModule {}
