import { RECONCILER_VERSION } from '@audit-ledger/domain';
import { type EventStore } from '@audit-ledger/event-store';
import { Body, Controller, HttpCode, Inject, Post } from '@nestjs/common';
import type { Logger } from 'pino';
import { z } from 'zod';
import { AlertDispatcher } from '../../alerts/alert-dispatcher.js';
import { type LedgerConfig } from '../../config/ledger.config.js';
import { parseRequest } from '../../shared/request-validation.js';
import { CLOCK, EVENT_STORE, LEDGER_CONFIG, LOGGER, type Clock } from '../../shared/tokens.js';
import { RECONCILIATION_JUDGE, type AskJudge } from '../ask-judge.js';
import { rerunReconciliation, type RerunReport } from './rerun-reconciliation.js';

const RerunRequest = z
  .object({
    /** An ISO-8601 instant (executions recorded at or after it) or a global position (executions after it). */
    since: z.union([
      z.iso.datetime({ offset: true }).transform((at) => ({ at: new Date(at).toISOString() })),
      z
        .string()
        .regex(/^\d{1,19}$/, 'an ISO-8601 instant or a global position')
        .transform((p) => ({ afterPosition: BigInt(p) })),
    ]),
  })
  .strict();

/**
 * `POST /v1/reconciliation/rerun` `{ since }`: the server side of `ledger reconcile --since …`. Re-runs the current
 * reconciler over recorded executions and records only changed verdicts; answers with what it recorded.
 */
@Controller('v1/reconciliation')
export class RerunReconciliationHttpController {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly alerts: AlertDispatcher,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(RECONCILIATION_JUDGE) private readonly judge: AskJudge | null,
  ) {}

  @Post('rerun')
  @HttpCode(200)
  rerun(@Body({ schema: RerunRequest }) body: unknown): Promise<RerunReport> {
    const { since } = parseRequest(RerunRequest, body);
    return rerunReconciliation(this.store, this.alerts, this.logger, {
      since,
      reconcilerVersion: RECONCILER_VERSION,
      now: () => this.clock.now().toISOString(),
      alertOnUnclear: this.config.alertOnUnclear,
      ...(this.judge ? { judge: this.judge } : {}),
    });
  }
}
