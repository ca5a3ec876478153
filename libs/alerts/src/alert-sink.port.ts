/**
 * An alert, as sinks receive it: one recorded MismatchDetected (or ReconciliationUnclear) event, or one event a
 * projection parked (`ProjectionEventParked`: `streamId` … `recordedAt` are the parked event's).
 */
export interface Alert {
  /**
   * Stable across retries and replays: the event id of the event that raised it (the mismatchId of a mismatch);
   * `parked:<projection>:<global position>` for a parked event.
   */
  alertId: string;
  type: AlertType;
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
  /**
   * How many alerts the dispatcher may have in delivery to this sink at once (default 1: one after the other, in the
   * order raised). More than one lets a sink that waits on the network keep up with a burst; alerts may then arrive
   * out of order (each carries its event's global position).
   */
  readonly maxConcurrentDeliveries?: number;
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

export type AlertType = 'MismatchDetected' | 'ReconciliationUnclear' | 'ProjectionEventParked';

const WHAT: Record<AlertType, string> = {
  MismatchDetected: 'mismatch',
  ReconciliationUnclear: 'unclear reconciliation',
  ProjectionEventParked: 'projection parked an event',
};

export function alertSummary(alert: Pick<Alert, 'type' | 'kind' | 'severity' | 'streamId'>, explanation: string) {
  const what = alert.type === 'MismatchDetected' ? `${WHAT[alert.type]} ${alert.kind ?? ''}`.trim() : WHAT[alert.type];
  return `[${alert.severity ?? 'info'}] ${what} on ${alert.streamId}: ${explanation}`;
}
