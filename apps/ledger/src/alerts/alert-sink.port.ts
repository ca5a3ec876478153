/** An alert: one recorded MismatchDetected (or ReconciliationUnclear) event, as sinks receive it. */
export interface Alert {
  /** Stable across retries and replays: the event id of the event that raised it (the mismatchId of a mismatch). */
  alertId: string;
  type: 'MismatchDetected' | 'ReconciliationUnclear';
  streamId: string;
  streamRevision: number;
  globalPosition: string;
  recordedAt: string;
  severity?: string;
  kind?: string;
  summary: string;
  data: Record<string, unknown>;
}

/**
 * The alert-sink port: one per outside thing that wants to hear about mismatches. `deliver` makes one attempt and
 * throws when it failed; retries, backoff, dead-lettering and the attempt log belong to the dispatcher.
 */
export interface AlertSink {
  readonly name: string;
  /** False for sinks whose delivery cannot meaningfully be retried (server-sent events to whoever listens now). */
  readonly retryable: boolean;
  deliver(alert: Alert): Promise<void>;
  close?(): Promise<void>;
}

export class AlertDeliveryError extends Error {
  readonly code = 'ALERT.DELIVERY_FAILED';
  constructor(
    readonly sink: string,
    readonly status: number | undefined,
    message: string,
  ) {
    super(message);
  }
}

export function alertSummary(alert: Pick<Alert, 'type' | 'kind' | 'severity' | 'streamId'>, explanation: string) {
  const what = alert.type === 'MismatchDetected' ? `mismatch ${alert.kind ?? ''}`.trim() : 'unclear reconciliation';
  return `[${alert.severity ?? 'info'}] ${what} on ${alert.streamId}: ${explanation}`;
}
