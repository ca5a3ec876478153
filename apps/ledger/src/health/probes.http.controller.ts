import { Controller, Get, Inject, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { Public } from '../identity/access.js';
import {
  RECONCILIATION_STATUS,
  type ReconciliationStatusProbe,
} from '../reconciliation/reconciliation-status.http.controller.js';
import { WITNESS_STATUS, type WitnessStatusProbe } from '@audit-ledger/evidence';
import {
  PROJECTIONS_STATUS,
  STORE_HEALTH,
  type ProjectionsStatusProbe,
  type StoreHealthProbe,
} from './health.controller.js';
import { StoreMonitor } from './store-monitor.service.js';
import { workersHealth } from './workers-health.js';
import { LiveSchema, ReadySchema, WorkersSchema } from '../openapi/response-schemas.js';
import { ApiOkResponse } from '@nestjs/swagger';

/**
 * Probes for process managers and orchestrators (docs/operations.md, "Health"), each answering one question:
 * - `live`: the process serves requests (never depends on PostgreSQL: restarting the ledger does not fix a database);
 * - `ready`: it can take commands now (the store answers, migrations are applied);
 * - `workers`: projections, reconciliation, the live subscription and witnesses (for dashboards and alerts, not probes).
 * `/health` stays the all-in-one answer.
 */
@Controller('health')
export class ProbesHttpController {
  constructor(
    @Inject(STORE_HEALTH) private readonly probe: StoreHealthProbe,
    private readonly monitor: StoreMonitor,
    @Inject(PROJECTIONS_STATUS) private readonly projections: ProjectionsStatusProbe,
    @Inject(RECONCILIATION_STATUS) private readonly reconciliation: ReconciliationStatusProbe,
    @Inject(WITNESS_STATUS) private readonly witnesses: WitnessStatusProbe,
  ) {}

  @Get('live')
  @ApiOkResponse({ description: 'the process serves HTTP', standardSchema: LiveSchema })
  @Public()
  live(): { status: 'ok'; uptimeSeconds: number } {
    return { status: 'ok', uptimeSeconds: Math.round(process.uptime()) };
  }

  @Get('ready')
  @ApiOkResponse({ description: 'it can take commands (503 with the same body when not)', standardSchema: ReadySchema })
  @Public()
  async ready(@Res() reply: FastifyReply): Promise<void> {
    const store = await this.probe().catch(() => ({ database: false, migrationsApplied: 0 }));
    const ready = store.database && store.migrationsApplied > 0;
    void reply.status(ready ? 200 : 503).send({
      status: ready ? 'ready' : 'not_ready',
      database: store.database ? 'reachable' : 'unreachable',
      migrationsApplied: store.migrationsApplied,
    });
  }

  @Get('workers')
  @ApiOkResponse({
    description: 'the workers are healthy (503 `degraded` when one is not)',
    standardSchema: WorkersSchema,
  })
  @Public()
  workers(@Res() reply: FastifyReply): void {
    const { ok, parts } = workersHealth(this.monitor, this.projections(), this.reconciliation, this.witnesses);
    void reply.status(ok ? 200 : 503).send({ status: ok ? 'ok' : 'degraded', ...parts });
  }
}
