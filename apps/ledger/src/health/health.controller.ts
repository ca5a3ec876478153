import { ApiOkResponse } from '@nestjs/swagger';
import type { ProjectionRunnerStatus } from '@audit-ledger/read-models';
import { Controller, Get, Inject, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import {
  RECONCILIATION_STATUS,
  type ReconciliationStatusProbe,
} from '../reconciliation/reconciliation-status.http.controller.js';
import { WITNESS_STATUS, type WitnessStatusProbe } from '@audit-ledger/evidence';
import { StoreMonitor } from './store-monitor.service.js';
import { workersHealth } from './workers-health.js';
import { Public } from '../identity/access.js';
import { AccessRefusals } from '../identity/access-refusals.js';
import { HealthSchema } from '../openapi/response-schemas.js';
import { PartitionsWorker } from '../partitions/partitions.worker.js';

export const STORE_HEALTH = Symbol('STORE_HEALTH');
export type StoreHealthProbe = () => Promise<{ database: boolean; migrationsApplied: number }>;
export const PROJECTIONS_STATUS = Symbol('PROJECTIONS_STATUS');
/** Undefined when projections are switched off (LEDGER_PROJECTIONS_ENABLED=false). */
export type ProjectionsStatusProbe = () => ProjectionRunnerStatus | undefined;

/**
 * 200 when the database answers, migrations are applied, the live subscription is alive, and the workers that are
 * switched on (projections, reconciliation) are healthy; otherwise 503. The body says which part is not.
 */
@Controller('health')
export class HealthController {
  constructor(
    @Inject(STORE_HEALTH) private readonly probe: StoreHealthProbe,
    private readonly monitor: StoreMonitor,
    @Inject(PROJECTIONS_STATUS) private readonly projections: ProjectionsStatusProbe,
    @Inject(RECONCILIATION_STATUS) private readonly reconciliation: ReconciliationStatusProbe,
    @Inject(WITNESS_STATUS) private readonly witnesses: WitnessStatusProbe,
    private readonly refusals: AccessRefusals,
    private readonly partitions: PartitionsWorker,
  ) {}

  @Get()
  @Public()
  @ApiOkResponse({ description: 'healthy (503 with the same body when a part is not)', standardSchema: HealthSchema })
  async health(@Res() reply: FastifyReply): Promise<void> {
    const store = await this.probe().catch(() => ({ database: false, migrationsApplied: 0 }));
    const workers = workersHealth(this.monitor, this.projections(), this.reconciliation, this.witnesses);
    const ok = store.database && store.migrationsApplied > 0 && workers.ok;
    void reply.status(ok ? 200 : 503).send({
      status: ok ? 'ok' : 'degraded',
      database: store.database ? 'reachable' : 'unreachable',
      migrationsApplied: store.migrationsApplied,
      ...workers.parts,
      // The events table's partition rolling (informational: a late roll does not make the ledger unhealthy).
      partitions: this.partitions.status(),
      // Calls refused since the start, by code and entrance: `{ "AUTH.UNAUTHENTICATED": { "http": 3 } }`.
      accessRefusals: this.refusals.counted(),
    });
  }
}
