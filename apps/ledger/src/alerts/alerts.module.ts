import { Module } from '@nestjs/common';
import { AlertDispatcher } from '@audit-ledger/alerts';
import { Alerting } from './alerting.js';
import { AlertsStreamHttpController, SSE_ALERT_SINK } from './alerts-stream.http.controller.js';

/** Alert delivery (webhook, Slack, SSE) and the SSE stream route; the workers that detect publish through it. */
@Module({
  controllers: [AlertsStreamHttpController],
  providers: [
    Alerting,
    { provide: AlertDispatcher, useFactory: (alerting: Alerting) => alerting.dispatcher, inject: [Alerting] },
    { provide: SSE_ALERT_SINK, useFactory: (alerting: Alerting) => alerting.sse, inject: [Alerting] },
  ],
  exports: [AlertDispatcher],
})
export class AlertsModule {}
