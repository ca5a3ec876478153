import { z } from 'zod';

/**
 * Erasure of a stream's sensitive payloads (crypto-shredding, docs/operations.md "Erase"): each approval and the
 * erasure itself are events of the stream `erasure-<target stream>`. Storage format: a contract, never renamed.
 */
export const ERASURE_STREAM_PREFIX = 'erasure-';
export const erasureStreamId = (targetStreamId: string): string => `${ERASURE_STREAM_PREFIX}${targetStreamId}`;

/** What reads, exports and read models show in place of an erased field. */
export const ERASED = '[erased]';
/** What they show for a sealed field that does not open where it is stored (copied or edited: `ledger verify` says). */
export const UNREADABLE = '[unreadable]';

/** Streams whose payloads can be erased: the ones holding executions. */
export const ERASABLE_STREAM = /^(approval|session)-.{1,200}$/s;

export const ErasureApprovedData = z.object({
  streamId: z.string(),
  approvedBy: z.string(),
  reason: z.string(),
  approvedAt: z.string(),
});
export type ErasureApprovedData = z.infer<typeof ErasureApprovedData>;

export const PayloadErasedData = z.object({
  streamId: z.string(),
  /** The principals whose approvals made the erasure, in order (two distinct ones). */
  approvedBy: z.array(z.string()),
  reason: z.string(),
  /** The fields whose plaintext is gone (encrypted under the destroyed key). */
  fields: z.array(z.string()),
  erasedAt: z.string(),
});
export type PayloadErasedData = z.infer<typeof PayloadErasedData>;

export type ErasureEvent =
  { type: 'ErasureApproved'; data: ErasureApprovedData } | { type: 'PayloadErased'; data: PayloadErasedData };

export const ERASURE_EVENT_TYPES = ['ErasureApproved', 'PayloadErased'] as const;

export const isErasureEventType = (type: string): type is ErasureEvent['type'] =>
  (ERASURE_EVENT_TYPES as readonly string[]).includes(type);

/** The body of `POST /v1/erasures/approvals` and of `ledger erase`. */
export const ApproveErasureRequest = z.strictObject({
  streamId: z.string().regex(ERASABLE_STREAM, 'an approval-<id> or session-<id> stream'),
  reason: z.string().trim().min(3).max(2_000),
});
export type ApproveErasureRequest = z.infer<typeof ApproveErasureRequest>;

export const ErasureReply = z.object({
  streamId: z.string(),
  status: z.enum(['awaiting_second_approval', 'erased']),
  approvedBy: z.array(z.string()),
});
export type ErasureReply = z.infer<typeof ErasureReply>;
