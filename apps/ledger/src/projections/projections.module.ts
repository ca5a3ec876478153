import { Module } from '@nestjs/common';
import { AlertsModule } from '../alerts/alerts.module.js';
import { PROJECTIONS_STATUS } from '../health/health.controller.js';
import { ProjectionsWorker, RetentionWorker } from './projections.worker.js';

/** The read models kept by the projections, and their retention; the query API reads them (QueriesModule). */
@Module({
  imports: [AlertsModule],
  providers: [
    ProjectionsWorker,
    RetentionWorker,
    {
      provide: PROJECTIONS_STATUS,
      useFactory: (retention: RetentionWorker) => () => retention.projectionsStatus(),
      inject: [RetentionWorker],
    },
  ],
  exports: [PROJECTIONS_STATUS, ProjectionsWorker],
})
export class ProjectionsModule {}
