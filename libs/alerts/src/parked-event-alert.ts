import type { ParkedEventNotice } from '@audit-ledger/read-models';
import { alertSummary, type Alert } from './alert-sink.port.js';

export const PARKED_EVENT_ALERT_KIND = 'projection.event_parked';

/**
 * The alert for an event a projection parked: the read model misses it until an operator fixes the cause and runs
 * `ledger projections retry-parked <projection>`. One per projection and position (its `alertId`).
 */
export function parkedEventAlert(notice: ParkedEventNotice): Alert {
  const { projection, position, eventId, eventType, streamId, streamRevision, error, at, recordedAt } = notice;
  return {
    alertId: `parked:${projection}:${position}`,
    type: 'ProjectionEventParked',
    kind: PARKED_EVENT_ALERT_KIND,
    severity: 'high',
    streamId,
    streamRevision,
    globalPosition: position,
    recordedAt,
    summary: alertSummary(
      { type: 'ProjectionEventParked', severity: 'high', streamId },
      `projection ${projection} cannot apply ${eventType} ${eventId} at position ${position} (${error}); ` +
        `fix, then \`ledger projections retry-parked ${projection}\``,
    ),
    data: { projection, position, eventId, eventType, streamId, streamRevision, error, parkedAt: at },
  };
}
