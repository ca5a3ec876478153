import { Controller, Get, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { Allow } from '../identity/access.js';
import { LedgerMetrics } from './ledger-metrics.js';
import { PROMETHEUS_CONTENT } from '../openapi/response-schemas.js';
import { ApiOkResponse } from '@nestjs/swagger';

/**
 * Prometheus exposition of every ledger series (docs/operations.md, "Metrics"). Counts and timings only, no audit
 * data; still behind a credential: the `reader` role (docs/security.md), so Prometheus scrapes with a reader key.
 */
@Controller('metrics')
export class MetricsHttpController {
  constructor(private readonly metrics: LedgerMetrics) {}

  @Get()
  @ApiOkResponse({ description: 'every series of the ledger', content: PROMETHEUS_CONTENT })
  @Allow('reader')
  async scrape(@Res() reply: FastifyReply): Promise<void> {
    const { contentType, body } = await this.metrics.scrape();
    void reply.header('content-type', contentType).send(body);
  }
}
