import { ApiOkResponse } from '@nestjs/swagger';
import { Controller, Get, Inject, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { SseAlertSink } from '@audit-ledger/alerts';
import { Allow } from '../identity/access.js';
import { EVENT_STREAM_CONTENT } from '../openapi/response-schemas.js';

export const SSE_ALERT_SINK = Symbol('SSE_ALERT_SINK');

/** `GET /v1/alerts/stream`: server-sent events, one per alert, named by its type (`MismatchDetected`, `ReconciliationUnclear`, `ProjectionEventParked`). */
@Controller('v1/alerts')
export class AlertsStreamHttpController {
  constructor(@Inject(SSE_ALERT_SINK) private readonly sse: SseAlertSink) {}

  @Get('stream')
  @Allow('reader')
  @ApiOkResponse({ description: 'alerts as server-sent events', content: EVENT_STREAM_CONTENT })
  stream(@Res() reply: FastifyReply): void {
    reply.hijack();
    this.sse.attach(reply.raw);
  }
}
