import { ApiOkResponse } from '@nestjs/swagger';
import { Controller, Get, Inject } from '@nestjs/common';
import { AlertDispatcher } from '@audit-ledger/alerts';
import type { ReconciliationStatus } from './reconciliation.processor.js';
import { Allow } from '../identity/access.js';
import { ReconciliationStatusSchema } from '../openapi/response-schemas.js';

export const RECONCILIATION_STATUS = Symbol('RECONCILIATION_STATUS');
export type ReconciliationStatusProbe = () => ReconciliationStatus;

/** `GET /v1/reconciliation/status`: where the processor stands, whether it is alive, its last error, alert queues. */
@Controller('v1/reconciliation')
export class ReconciliationStatusHttpController {
  constructor(
    @Inject(RECONCILIATION_STATUS) private readonly status: ReconciliationStatusProbe,
    private readonly alerts: AlertDispatcher,
  ) {}

  @Get('status')
  @Allow('reader')
  @ApiOkResponse({ description: 'the reconciler and the alert dispatcher', standardSchema: ReconciliationStatusSchema })
  get() {
    return { processor: this.status(), alerts: this.alerts.status() };
  }
}
