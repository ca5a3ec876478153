import { z } from 'zod';
import type { ApprovalItem, ExecutionItem, MismatchItem } from './read-model-queries.js';

// The query API's answers as they travel (JSON: instants as ISO-8601 strings, 64-bit positions as decimal strings).
// The OpenAPI document is generated from these; the type checks at the bottom fail the build when an item gains,
// loses or retypes a field without its schema following.

const instant = z.iso.datetime().describe('ISO-8601 instant, UTC');
const position = z.string().regex(/^\d+$/).describe('global position (64-bit, decimal string)');

export const ApprovalItemSchema = z.strictObject({
  approvalId: z.string(),
  streamId: z.string(),
  instruction: z.string().nullable(),
  approvedCommands: z.array(z.string()),
  scope: z.unknown().describe('{ paths?, hosts? } as granted, or null'),
  riskLevel: z.string().nullable().describe('safe, moderate, destructive or critical; null before the grant'),
  decision: z.string().nullable().describe('approved or auto; null before the grant'),
  approvedBy: z.string().nullable(),
  approverVerified: z
    .boolean()
    .describe("true when approvedBy is the verified subject of the approver's own signed assertion"),
  approverAssertionHash: z.string().nullable().describe('SHA-256 (hex) of that assertion; null when unproven'),
  requestedBy: z.strictObject({
    agentId: z.string().nullable(),
    workerId: z.string().nullable(),
    sessionId: z.string().nullable(),
  }),
  maxExecutions: z.number().int().nullable(),
  status: z.string().describe('pending, matched, mismatch, unclear, unused, rejected, revoked or expired'),
  createdAt: instant,
  grantedAt: instant.nullable(),
  expiresAt: instant.nullable(),
  rejectedBy: z.string().nullable(),
  rejectedAt: instant.nullable(),
  rejectionReason: z.string().nullable(),
  revokedBy: z.string().nullable(),
  revokedAt: instant.nullable(),
  revocationReason: z.string().nullable(),
  requestedAt: instant.nullable().describe('when the gateway asked a human (requestedAt), if it said'),
  grantedOccurredAt: instant
    .nullable()
    .describe('when the grant was decided (its occurredAt; grants recorded before that existed: grantedAt)'),
  approvalTimeMs: z.number().nullable().describe('how long the human took: grantedOccurredAt − requestedAt'),
  rejectedOccurredAt: instant.nullable().describe('when the rejection was decided (occurredAt, else rejectedAt)'),
  revokedOccurredAt: instant.nullable().describe('when the revocation was decided (occurredAt, else revokedAt)'),
  executionCount: z.number().int(),
  firstExecutionAt: instant.nullable(),
  lastExecutionAt: instant.nullable(),
  mismatchCount: z.number().int(),
  lastEventAt: instant,
  position,
});

export const ExecutionItemSchema = z.strictObject({
  executionId: z.string(),
  approvalId: z.string().nullable(),
  sessionId: z.string().nullable(),
  workerId: z.string(),
  toolName: z.string(),
  command: z.string(),
  exitCode: z.number().int().nullable(),
  startedAt: instant,
  finishedAt: instant,
  durationMs: z.number().nullable(),
  riskLevel: z.string().describe("the approval's risk level; none without an approval, unknown before its grant"),
  assessedRisk: z
    .string()
    .nullable()
    .describe('safe, moderate, destructive or critical: the risk of the command that ran, assessed from it'),
  reconciliationVerdict: z.string().nullable().describe('matched, mismatch or unclear; null until reconciled'),
  reconciledAt: instant.nullable(),
  outputSha256: z.string().describe('SHA-256 of the full output (hex)'),
  outputBytes: z.number().nullable().describe('UTF-8 size of the full output'),
  outputTruncated: z.boolean().describe('whether the stored output was cut to the cap'),
  artifacts: z.unknown().describe('[{ path, sha256, bytes }]'),
  eventId: z.string(),
  streamId: z.string(),
  streamRevision: z.number().int(),
  globalPosition: position,
  recordedAt: instant,
});

export const MismatchItemSchema = z.strictObject({
  mismatchId: z.string(),
  approvalId: z.string().nullable(),
  executionId: z.string().nullable(),
  kind: z.string(),
  kinds: z.array(z.string()).describe('every kind of the verdict, kind first; filtering by kind finds any of them'),
  severity: z.string(),
  assessedRisk: z
    .string()
    .nullable()
    .describe('safe, moderate, destructive or critical: the risk of what ran, assessed from the command'),
  explanation: z.string(),
  approved: z.unknown().describe('what the approval allowed, as the reconciler saw it'),
  executed: z.unknown().describe('what ran, as the reconciler saw it'),
  detectedAt: instant,
  reviewState: z.string().describe('open or reviewed'),
  reviewer: z.string().nullable(),
  resolution: z.string().nullable().describe('confirmed or false_positive once reviewed'),
  reviewNote: z.string().nullable(),
  reviewedAt: instant.nullable(),
  approvedBy: z.string().nullable().describe("the approval's approver; null without an approval or before its grant"),
  approverVerified: z
    .boolean()
    .nullable()
    .describe('whether that approver was proven by their own signed assertion; null like approvedBy'),
  sessionId: z
    .string()
    .nullable()
    .describe("the mismatch's session: its own, else its execution's, else its approval's"),
  workerId: z.string().nullable().describe("its execution's worker, else its approval's requesting worker"),
  eventId: z.string(),
  globalPosition: position,
});

/** A keyset page: pass `nextCursor` back as `cursor` until it is null. */
export function pageSchema<T extends z.ZodType>(item: T) {
  return z.strictObject({ items: z.array(item), nextCursor: z.string().nullable() });
}

/** An item as JSON carries it: Dates become ISO strings. */
type Json<T> = {
  [K in keyof T]: T[K] extends Date ? string : T[K] extends Date | null ? string | null : Json1<T[K]>;
};
type Json1<T> = T extends string | number | boolean | null | undefined ? T : T extends object ? Json<T> : T;
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;

export type ApprovalItemSchemaMatches = Assert<Same<Json<ApprovalItem>, z.output<typeof ApprovalItemSchema>>>;
export type ExecutionItemSchemaMatches = Assert<Same<Json<ExecutionItem>, z.output<typeof ExecutionItemSchema>>>;
export type MismatchItemSchemaMatches = Assert<Same<Json<MismatchItem>, z.output<typeof MismatchItemSchema>>>;
