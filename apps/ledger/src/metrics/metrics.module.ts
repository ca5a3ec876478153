import { Module } from '@nestjs/common';
import { AlertsModule } from '../alerts/alerts.module.js';
import { HealthModule } from '../health/health.module.js';
import { IdentityModule } from '../identity/identity.module.js';
import { ProjectionsModule } from '../projections/projections.module.js';
import { MetricsProbes } from './metrics-probes.js';
import { MetricsHttpController } from './metrics.http.controller.js';

/** `GET /metrics` (Prometheus); the registry itself is a core token (everything counts into it). */
@Module({
  imports: [AlertsModule, HealthModule, IdentityModule, ProjectionsModule],
  controllers: [MetricsHttpController],
  providers: [MetricsProbes],
})
export class MetricsModule {}
