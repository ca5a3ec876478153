import { eventTypeFilter, type Filter, streamNameFilter } from '@kurrent/kurrentdb-client';
import { type ReadAllFilter } from '../event-store.port.js';
import { CLAIM_EVENT_TYPE, isInternal } from './kurrentdb-event-codec.js';

/**
 * How a port filter runs against $all. KurrentDB applies one server-side filter per read, on event types or on stream
 * names, not both: the server gets the event types if any, else the stream prefixes, else "no system events, no
 * claims". `accepts` re-checks every condition on what comes back, so results never depend on that choice.
 */
export interface AllFilterPlan {
  server: Filter;
  accepts(streamId: string, type: string): boolean;
}

export function planAllFilter(filter: ReadAllFilter | undefined): AllFilterPlan {
  const types = filter?.eventTypes?.length ? new Set(filter.eventTypes) : undefined;
  const prefixes = filter?.streamPrefixes?.length ? [...filter.streamPrefixes] : undefined;

  let server: Filter;
  if (types) server = eventTypeFilter({ regex: `^(?:${[...types].map(escapeRegex).join('|')})$` });
  else if (prefixes) server = streamNameFilter({ prefixes });
  else server = eventTypeFilter({ regex: `^(?!\\$)(?!${escapeRegex(CLAIM_EVENT_TYPE)}$).+` });

  return {
    server,
    accepts: (streamId, type) =>
      !isInternal(streamId, type) &&
      (types === undefined || types.has(type)) &&
      (prefixes === undefined || prefixes.some((prefix) => streamId.startsWith(prefix))),
  };
}

function escapeRegex(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|#\s-]/g, '\\$&');
}
