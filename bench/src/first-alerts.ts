import type { Alert } from '@audit-ledger/alerts';
import type { AlertReceiverName } from './alert-receivers.js';

/**
 * Per mismatching execution the bench sent, when the first `MismatchDetected` naming it (`data.executionId`) reached
 * each receiver. Anything else a receiver gets is counted, never matched: a second alert for an execution already
 * alerted at that receiver (a retried delivery or a second verdict), and alerts that name no execution the bench sent
 * as mismatching (another type, or a verdict on an execution that should have matched).
 */
export class FirstAlerts {
  private readonly mismatching = new Set<string>();
  private readonly first = new Map<AlertReceiverName, Map<string, number>>();
  private readonly recordedAt = new Map<string, number>();
  repeated = 0;
  unexpected = 0;

  /** Call before the execution is sent, so that an alert cannot arrive before the bench knows its id. */
  sent(executionId: string): void {
    this.mismatching.add(executionId);
  }

  readonly received = (receiver: AlertReceiverName, alert: Alert, at: number): void => {
    const executionId = alert.data['executionId'];
    if (alert.type !== 'MismatchDetected' || typeof executionId !== 'string' || !this.mismatching.has(executionId)) {
      this.unexpected++;
      return;
    }
    let firsts = this.first.get(receiver);
    if (!firsts) this.first.set(receiver, (firsts = new Map()));
    if (firsts.has(executionId)) this.repeated++;
    else firsts.set(executionId, at);
    if (!this.recordedAt.has(executionId)) this.recordedAt.set(executionId, Date.parse(alert.recordedAt));
  };

  /** When the first alert for the execution reached the receiver (`performance.now()`), if it has. */
  firstAt(receiver: AlertReceiverName, executionId: string): number | undefined {
    return this.first.get(receiver)?.get(executionId);
  }

  /**
   * The alert's `recordedAt` (`Date.now()` scale, ms): the reconciler's clock when it began judging the execution,
   * which splits the latency into waiting for the reconciler and judging, appending and delivering.
   */
  judgedAt(executionId: string): number | undefined {
    return this.recordedAt.get(executionId);
  }
}
