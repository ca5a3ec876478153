import type { EventStore, ReadAllFilter, RecordedEvent } from '@audit-ledger/event-store';
import type { Logger } from 'pino';
import type { AlertDispatcher } from '@audit-ledger/alerts';
import type { AskJudge } from '../ask-judge.js';
import { alertOf, reconcileLoggedExecution } from '../reconcile-execution.js';

export type RerunSince = { at: string } | { afterPosition: bigint };

export interface RerunOptions {
  /** Executions recorded at or after this instant, or after this global position (exclusive). */
  since: RerunSince;
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

/** How a job drives the re-run: how many executions per batch, what to do between batches, when to stop. */
export interface RerunControl {
  batchSize: number;
  /** Checked before each batch and each execution: true stops the re-run there (it reports what it did). */
  shouldStop: () => boolean;
  /** Called after each batch with the report so far; may wait (the rate limit). */
  afterBatch: (report: RerunReport, batch: number) => Promise<void>;
}

const PAGE = 500;
const EXECUTIONS: ReadAllFilter = { eventTypes: ['ExecutionLogged'], streamPrefixes: ['approval-', 'session-'] };

const startPosition = (since: RerunSince): bigint => ('afterPosition' in since ? since.afterPosition : 0n);
const notBeforeOf = (since: RerunSince): number | undefined => ('at' in since ? Date.parse(since.at) : undefined);

/** The executions a re-run from `since` will examine (read only), so a job can show examined / total. */
export async function countRerunExecutions(
  store: EventStore,
  since: RerunSince,
  shouldStop: () => boolean,
): Promise<{ total: number; throughPosition: bigint }> {
  let position = startPosition(since);
  const notBefore = notBeforeOf(since);
  let total = 0;
  while (!shouldStop()) {
    const page = await store.readAll({ fromPosition: position, maxCount: PAGE * 4, filter: EXECUTIONS });
    if (page.length === 0) break;
    for (const logged of page) {
      position = logged.globalPosition;
      if (notBefore === undefined || logged.recordedAt.getTime() >= notBefore) total++;
    }
  }
  return { total, throughPosition: position };
}

/**
 * `reconcile --since`: runs the current reconciler over executions already recorded and appends a verdict only when
 * it changed. Idempotent like the processor (same deterministic ids), so running it twice records nothing new, and
 * running it next to the live processor is safe. New mismatches alert like live ones. Works in batches of
 * `control.batchSize` executions, stops between batches when asked, and never goes past `throughPosition` (the end
 * counted when the job started: executions logged later are the live processor's).
 */
export async function rerunReconciliation(
  store: EventStore,
  alerts: AlertDispatcher,
  logger: Logger,
  options: RerunOptions & { throughPosition?: bigint },
  control: RerunControl = { batchSize: PAGE, shouldStop: () => false, afterBatch: async () => {} },
): Promise<RerunReport> {
  const report: RerunReport = {
    reconcilerVersion: options.reconcilerVersion,
    examined: 0,
    recorded: [],
    lastPosition: '0',
  };
  let position = startPosition(options.since);
  const notBefore = notBeforeOf(options.since);
  const end = options.throughPosition;
  while (!control.shouldStop() && (end === undefined || position < end)) {
    const read = await store.readAll({ fromPosition: position, maxCount: control.batchSize, filter: EXECUTIONS });
    const page = end === undefined ? read : read.filter((logged) => logged.globalPosition <= end);
    if (page.length === 0) break;
    let batch = 0;
    for (const logged of page) {
      if (control.shouldStop()) break; // a cancel (or a shutdown) need not wait for the batch's judge calls
      position = logged.globalPosition;
      if (notBefore !== undefined && logged.recordedAt.getTime() < notBefore) continue;
      report.examined++;
      batch++;
      await reconcileOne(store, alerts, logged, options, report);
    }
    report.lastPosition = position.toString();
    await control.afterBatch(report, batch);
  }
  logger.info(
    { examined: report.examined, recorded: report.recorded.length, version: options.reconcilerVersion },
    'reconciliation re-run done',
  );
  return report;
}

async function reconcileOne(
  store: EventStore,
  alerts: AlertDispatcher,
  logged: RecordedEvent,
  options: RerunOptions,
  report: RerunReport,
): Promise<void> {
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
