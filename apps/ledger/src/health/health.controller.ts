import { Controller, Get, Inject, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { StoreMonitor } from './store-monitor.service.js';

export const STORE_HEALTH = Symbol('STORE_HEALTH');
export type StoreHealthProbe = () => Promise<{ database: boolean; migrationsApplied: number }>;

@Controller('health')
export class HealthController {
  constructor(
    @Inject(STORE_HEALTH) private readonly probe: StoreHealthProbe,
    private readonly monitor: StoreMonitor,
  ) {}

  @Get()
  async health(@Res() reply: FastifyReply): Promise<void> {
    const store = await this.probe().catch(() => ({ database: false, migrationsApplied: 0 }));
    const subscription = this.monitor.status();
    const ok = store.database && store.migrationsApplied > 0 && subscription.alive;
    void reply.status(ok ? 200 : 503).send({
      status: ok ? 'ok' : 'degraded',
      database: store.database ? 'reachable' : 'unreachable',
      migrationsApplied: store.migrationsApplied,
      subscription,
    });
  }
}
