import type { EventStore } from '@audit-ledger/event-store';
import type { Logger } from 'pino';
import type { AlertDispatcher } from '../../alerts/alert-dispatcher.js';
import type { AskJudge } from '../ask-judge.js';
import { alertOf, reconcileLoggedExecution } from '../reconcile-execution.js';

export interface RerunOptions {
  /** Executions recorded at or after this instant, or after this global position (exclusive). */
  since: { at: string } | { afterPosition: bigint };
  reconcilerVersion: string;
  now: () => string;
  alertOnUnclear: boolean;
  /** The LLM judge, when configured: asked as the processor asks it (natural-language UNCLEARs only). */
  judge?: AskJudge;
}

export interface RerunReport {
  reconcilerVersion: string;
  examined: number;
  /** Only verdicts that differ (verdict or kind) from the latest one recorded for the execution. */
  recorded: { streamId: string; executionId: string; type: string; kind?: string; eventId: string }[];
  /** Global position of the last execution examined. */
  lastPosition: string;
}

const PAGE = 500;

/**
 * `reconcile --since`: runs the current reconciler over executions already recorded and appends a verdict only when
 * it changed. Idempotent like the processor (same deterministic ids), so running it twice records nothing new, and
 * running it next to the live processor is safe. New mismatches alert like live ones.
 */
export async function rerunReconciliation(
  store: EventStore,
  alerts: AlertDispatcher,
  logger: Logger,
  options: RerunOptions,
): Promise<RerunReport> {
  const report: RerunReport = {
    reconcilerVersion: options.reconcilerVersion,
    examined: 0,
    recorded: [],
    lastPosition: '0',
  };
  let position = 'afterPosition' in options.since ? options.since.afterPosition : 0n;
  const notBefore = 'at' in options.since ? Date.parse(options.since.at) : undefined;
  for (;;) {
    const page = await store.readAll({
      fromPosition: position,
      maxCount: PAGE,
      filter: { eventTypes: ['ExecutionLogged'], streamPrefixes: ['approval-', 'session-'] },
    });
    if (page.length === 0) break;
    for (const logged of page) {
      position = logged.globalPosition;
      if (notBefore !== undefined && logged.recordedAt.getTime() < notBefore) continue;
      report.examined++;
      const written = await reconcileLoggedExecution(store, logged, {
        reconcilerVersion: options.reconcilerVersion,
        now: options.now(),
        onlyIfChanged: true,
        ...(options.judge ? { judge: options.judge } : {}),
      });
      for (const verdict of written) {
        const data = verdict.event.data as { executionId?: string; kind?: string };
        report.recorded.push({
          streamId: verdict.streamId,
          executionId: data.executionId ?? '',
          type: verdict.event.type,
          ...(data.kind ? { kind: data.kind } : {}),
          eventId: verdict.eventId,
        });
        const alert = alertOf(verdict, options.alertOnUnclear);
        if (alert) alerts.publish(alert);
      }
    }
    report.lastPosition = position.toString();
  }
  logger.info(
    { examined: report.examined, recorded: report.recorded.length, version: options.reconcilerVersion },
    'reconciliation re-run done',
  );
  return report;
}
