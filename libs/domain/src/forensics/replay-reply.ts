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
  /**
   * When it happened: the command's `occurredAt`; an execution's `startedAt`; otherwise (verdicts, events recorded
   * before commands carried their time) when it was recorded.
   */
  occurredAt: z.string().optional(),
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
  /** When the decisions happened (their occurredAt; older events: when they were recorded). */
  grantedOccurredAt: z.string().optional(),
  rejectedOccurredAt: z.string().optional(),
  revokedOccurredAt: z.string().optional(),
  /** When the gateway asked a human, and how long the human took to grant (grantedOccurredAt − requestedAt). */
  requestedAt: z.string().optional(),
  approvalTimeMs: z.number().int().nonnegative().optional(),
});
export type ReplayedState = z.infer<typeof ReplayedState>;

/** Which time `asOf` is compared with: when the ledger recorded each event, or when it happened (`occurredAt`). */
export const ReplayTimeBasis = z.enum(['recorded', 'occurred']);
export type ReplayTimeBasis = z.infer<typeof ReplayTimeBasis>;

/**
 * `GET /v1/streams/{stream}/events[?asOf=][&by=recorded|occurred]`: the stream as it stood then (as the ledger knew
 * it, the default) or as things had happened by then. Part of the wire contract.
 */
export const ReplayReply = z.object({
  streamId: z.string(),
  /** `by` is present when the replay is by occurrence time. */
  asOf: z
    .union([z.object({ time: z.string(), by: z.literal('occurred').optional() }), z.object({ position: Position })])
    .nullable(),
  eventCount: z.number().int().nonnegative(),
  chainIntact: z.boolean(),
  firstBrokenPosition: Position.nullable(),
  events: z.array(ReplayedEvent),
  state: ReplayedState,
});
export type ReplayReply = z.infer<typeof ReplayReply>;
