import { z } from 'zod';

/** Whether an event's link to the event before it and its own recomputed hash hold. */
export const HashStatus = z.enum(['ok', 'broken_link', 'hash_mismatch']);
export type HashStatus = z.infer<typeof HashStatus>;

const Position = z.string().regex(/^\d+$/);

/** One replayed event as the HTTP API returns it (positions as decimal strings, times ISO 8601). */
export const ReplayedEvent = z.object({
  eventId: z.string(),
  type: z.string(),
  streamId: z.string(),
  streamRevision: z.number().int().nonnegative(),
  globalPosition: Position,
  data: z.unknown(),
  metadata: z.unknown(),
  prevHash: z.string(),
  hash: z.string(),
  recordedAt: z.string(),
  hashStatus: HashStatus,
  linkOk: z.boolean(),
  hashOk: z.boolean(),
});
export type ReplayedEvent = z.infer<typeof ReplayedEvent>;

/** The state the approval decider would have had at the replayed moment. */
export const ReplayedState = z.object({
  status: z.enum(['none', 'granted', 'rejected', 'revoked']),
  active: z.boolean(),
  executions: z.array(z.string()),
  verdicts: z.array(
    z.object({
      type: z.string(),
      executionId: z.string().optional(),
      verdict: z.string().optional(),
      kind: z.string().optional(),
      severity: z.string().optional(),
    }),
  ),
  grantedAt: z.string().optional(),
  rejectedAt: z.string().optional(),
  revokedAt: z.string().optional(),
  expiresAt: z.string().optional(),
});
export type ReplayedState = z.infer<typeof ReplayedState>;

/** `GET /v1/streams/{stream}/events[?asOf=]`: the stream as it stood then. Part of the wire contract. */
export const ReplayReply = z.object({
  streamId: z.string(),
  asOf: z.union([z.object({ time: z.string() }), z.object({ position: Position })]).nullable(),
  eventCount: z.number().int().nonnegative(),
  chainIntact: z.boolean(),
  firstBrokenPosition: Position.nullable(),
  events: z.array(ReplayedEvent),
  state: ReplayedState,
});
export type ReplayReply = z.infer<typeof ReplayReply>;
