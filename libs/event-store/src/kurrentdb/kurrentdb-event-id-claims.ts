import { jsonEvent, type KurrentDBClient, NO_STREAM } from '@kurrent/kurrentdb-client';
import { CLAIM_EVENT_TYPE, CLAIM_STREAM_PREFIX, isJsonObject } from './kurrentdb-event-codec.js';
import { asWrongExpectedVersion, isStreamGone, toStoreError } from './kurrentdb-errors.js';

export interface EventIdClaim {
  eventId: string;
  /** The stream the id belongs to: the claiming stream, unless another one claimed it first. */
  owner: string;
  /** The claim was there before this call (a retry, or another stream's event). */
  existed: boolean;
}

/**
 * Claims an event id for a stream; the first claim wins, across processes, because the claim stream is created with
 * expected state NO_STREAM. Claims come before the event's append (KurrentDB 25.0 has no multi-stream append), so a
 * claim may outlive an append that then failed: it keeps the id reserved for the stream it names, which is harmless.
 */
export async function claimEventId(client: KurrentDBClient, eventId: string, streamId: string): Promise<EventIdClaim> {
  const claimStream = `${CLAIM_STREAM_PREFIX}${eventId}`;
  try {
    await client.appendToStream(claimStream, jsonEvent({ type: CLAIM_EVENT_TYPE, data: { streamId } }), {
      streamState: NO_STREAM,
      requiresLeader: true,
    });
    return { eventId, owner: streamId, existed: false };
  } catch (error) {
    if (!asWrongExpectedVersion(error)) throw toStoreError(error, claimStream);
  }
  const owner = await claimOwner(client, eventId);
  if (owner === undefined) throw new Error(`The claim stream ${claimStream} exists but holds no claim`);
  return { eventId, owner, existed: true };
}

/** The stream an event id is claimed for, without claiming it; undefined when nobody claimed it. */
export async function claimOwner(client: KurrentDBClient, eventId: string): Promise<string | undefined> {
  const claimStream = `${CLAIM_STREAM_PREFIX}${eventId}`;
  try {
    for await (const resolved of client.readStream(claimStream, { maxCount: 1, requiresLeader: true })) {
      const data = resolved.event?.data;
      if (isJsonObject(data) && typeof data['streamId'] === 'string') return data['streamId'];
    }
  } catch (error) {
    if (isStreamGone(error)) return undefined;
    throw toStoreError(error, claimStream);
  }
  return undefined;
}
