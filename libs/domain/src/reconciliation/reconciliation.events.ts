import { z } from 'zod';
import { Identifier, PrincipalName, UtcTimestamp } from '../shared/primitives.js';

// Storage contract: the events the reconciliation processor and the review endpoint append to an approval's (or a
// session's) stream. What is written must be readable forever: add optional fields only; anything else is a new
// schemaVersion with an upcaster.

export const MismatchKindSchema = z.enum([
  'command_not_approved',
  'dangerous_deviation',
  'policy_violation',
  'no_approval',
  'approval_rejected',
  'approval_expired',
  'approval_revoked',
  'max_executions_exceeded',
  'token_replay',
  'approval_unused',
]);

export const SeveritySchema = z.enum(['low', 'medium', 'high', 'critical']);

export const UnclearKindSchema = z.enum([
  'unverifiable_variable',
  'vague_instruction',
  'low_confidence',
  'partial_execution',
]);

const ReconcilerVersion = z.string().min(1).max(128);

/** The risk of the command that ran, assessed by the effect model (on the approval's scale). */
export const AssessedRiskSchema = z.enum(['safe', 'moderate', 'destructive', 'critical']);
/**
 * Every kind that applies to a verdict, its `kind` first (`dangerous_deviation`, `typosquat`; a lifecycle kind and
 * the command's own). Free strings within limits, so a newer reconciler may name kinds an older reader does not know.
 */
const Kinds = z.array(z.string().min(1).max(64)).min(1).max(16);
const Explanation = z.string().min(1).max(16_384);

export const JUDGE_RATIONALE_MAX = 4096;
export const JUDGE_ERROR_MAX = 1024;

/**
 * What the optional LLM judge said about an execution the deterministic reconciler found UNCLEAR (an optional field
 * of the three verdict events, added without a schemaVersion bump: events without it stay valid). Either it answered
 * (`verdict` and `rationale`) or it did not (`error`: timeout, HTTP error, a reply outside the schema); `applied`
 * says whether its answer decided the recorded verdict (false when it failed, or answered MATCH for a command a risk
 * rule fired on).
 */
export const JudgeRecord = z
  .object({
    model: z.string().min(1).max(256),
    promptVersion: z.string().min(1).max(64),
    /** sha256 of the exact prompt sent (system and user messages), hex: which words the answer is an answer to. */
    promptHash: z
      .string()
      .regex(/^[0-9a-f]{64}$/)
      .optional(),
    verdict: z.enum(['MATCH', 'MISMATCH', 'UNCLEAR']).optional(),
    rationale: z.string().min(1).max(JUDGE_RATIONALE_MAX).optional(),
    error: z.string().min(1).max(JUDGE_ERROR_MAX).optional(),
    latencyMs: z.number().int().min(0).max(86_400_000),
    applied: z.boolean(),
  })
  .strict()
  .refine((j) => (j.error === undefined) === (j.verdict !== undefined && j.rationale !== undefined), {
    message: 'either verdict and rationale (the judge answered) or error (it did not)',
    path: ['error'],
  })
  .refine((j) => !(j.applied && j.error !== undefined), {
    message: 'a failed judgement cannot have decided the verdict',
    path: ['applied'],
  });

export const ExecutionReconciledData = z
  .object({
    executionId: Identifier,
    verdict: z.literal('MATCH'),
    explanation: Explanation,
    reconcilerVersion: ReconcilerVersion,
    /** The assessed risk of what ran (absent on events of reconcilers before 1.1.0). */
    assessedRisk: AssessedRiskSchema.optional(),
    /** Present when the LLM judge was asked (it answered MATCH). */
    judge: JudgeRecord.optional(),
  })
  .strict();

export const ReconciliationUnclearData = z
  .object({
    executionId: Identifier,
    /** The reconciler's reason code (`vague_instruction`, `low_confidence`, …). */
    kind: UnclearKindSchema.optional(),
    /** Human-readable: what could not be decided and why. */
    reason: Explanation,
    needsHumanReview: z.literal(true),
    reconcilerVersion: ReconcilerVersion,
    kinds: Kinds.optional(),
    assessedRisk: AssessedRiskSchema.optional(),
    /** Present when the LLM judge was asked (it answered UNCLEAR, failed, or its MATCH was refused). */
    judge: JudgeRecord.optional(),
  })
  .strict();

export const MismatchDetectedData = z
  .object({
    /** Equal to the event id of this MismatchDetected: unique, and derived from what was reconciled. */
    mismatchId: z.uuid(),
    approvalId: Identifier.optional(),
    sessionId: Identifier.optional(),
    executionId: Identifier.optional(),
    kind: MismatchKindSchema,
    /** `kind` first, then every other kind that applies (absent on older events: read it as `[kind]`). */
    kinds: Kinds.optional(),
    severity: SeveritySchema,
    /** The assessed risk of what ran, next to the approval's declared `riskLevel` (absent on older events). */
    assessedRisk: AssessedRiskSchema.optional(),
    explanation: Explanation,
    approved: z
      .object({
        instruction: z.string().max(16_384).optional(),
        commands: z.array(z.string().max(16_384)).max(256),
      })
      .strict(),
    executed: z
      .object({ command: z.string().max(65_536) })
      .strict()
      .optional(),
    /** Ids of the risk rules the executed command triggers. */
    riskRules: z.array(z.string().min(1).max(128)).max(64).optional(),
    reconcilerVersion: ReconcilerVersion,
    /** Present when the LLM judge was asked (it answered MISMATCH). */
    judge: JudgeRecord.optional(),
  })
  .strict();

export const MismatchReviewedData = z
  .object({
    mismatchId: z.uuid(),
    reviewer: PrincipalName,
    resolution: z.enum(['confirmed', 'false_positive']),
    note: z.string().max(4096).optional(),
    reviewedAt: UtcTimestamp,
  })
  .strict();

export type ExecutionReconciledData = z.infer<typeof ExecutionReconciledData>;
export type ReconciliationUnclearData = z.infer<typeof ReconciliationUnclearData>;
export type MismatchDetectedData = z.infer<typeof MismatchDetectedData>;
export type MismatchReviewedData = z.infer<typeof MismatchReviewedData>;
export type JudgeRecord = z.infer<typeof JudgeRecord>;

/** The kinds of a verdict event, old or new: `kinds` when recorded, else `[kind]` (or none). */
export function verdictKinds(event: ReconciliationEvent): string[] {
  switch (event.type) {
    case 'MismatchDetected':
      return event.data.kinds ?? [event.data.kind];
    case 'ReconciliationUnclear':
      return event.data.kinds ?? (event.data.kind ? [event.data.kind] : []);
    default:
      return [];
  }
}

/** Stored `type` strings: literals, never class names. */
export type ReconciliationEvent =
  | { type: 'ExecutionReconciled'; data: ExecutionReconciledData }
  | { type: 'ReconciliationUnclear'; data: ReconciliationUnclearData }
  | { type: 'MismatchDetected'; data: MismatchDetectedData }
  | { type: 'MismatchReviewed'; data: MismatchReviewedData };

export const RECONCILIATION_EVENT_SCHEMAS = {
  ExecutionReconciled: ExecutionReconciledData,
  ReconciliationUnclear: ReconciliationUnclearData,
  MismatchDetected: MismatchDetectedData,
  MismatchReviewed: MismatchReviewedData,
} as const;

export type ReconciliationEventType = keyof typeof RECONCILIATION_EVENT_SCHEMAS;

export function isReconciliationEventType(type: string): type is ReconciliationEventType {
  return Object.hasOwn(RECONCILIATION_EVENT_SCHEMAS, type);
}

/** What a security reviewer sends to `POST /v1/mismatches/:mismatchId/review`. */
export const ReviewMismatchRequest = MismatchReviewedData.omit({ reviewedAt: true, reviewer: true })
  .extend({
    /**
     * Ignored: the reviewer recorded is the authenticated principal (docs/security.md). Still accepted so that older
     * clients that send it are not refused.
     */
    reviewer: PrincipalName.optional(),
    /** The stream that holds the mismatch (`approval-<id>` or `session-<id>`), as the MismatchDetected event shows. */
    streamId: z
      .string()
      .regex(/^(approval|session)-[A-Za-z0-9][A-Za-z0-9._:@-]*$/, 'must be approval-<id> or session-<id>'),
  })
  .strict();
export type ReviewMismatchRequest = z.input<typeof ReviewMismatchRequest>;
export type ParsedReviewMismatchRequest = z.output<typeof ReviewMismatchRequest>;
