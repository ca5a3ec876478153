import { z } from 'zod';
import { Identifier, PrincipalName, RiskLevel, Sha256Hex, UtcTimestamp } from '../shared/primitives.js';

// Storage contract: these shapes are what the ledger has written and must read forever. Add optional fields only;
// anything else is a new schemaVersion with an upcaster.

export const Scope = z
  .object({
    paths: z.array(z.string().min(1).max(4096)).max(256).optional(),
    hosts: z.array(z.string().min(1).max(255)).max(256).optional(),
  })
  .strict();

export const RequestedBy = z
  .object({
    agentId: Identifier.optional(),
    workerId: Identifier.optional(),
    sessionId: Identifier.optional(),
  })
  .strict();

export const ApprovalGrantedData = z
  .object({
    approvalId: Identifier,
    instruction: z.string().min(1).max(16_384),
    approvedCommands: z.array(z.string().min(1).max(16_384)).max(256),
    scope: Scope.optional(),
    riskLevel: RiskLevel,
    decision: z.enum(['approved', 'auto']),
    approvedBy: PrincipalName,
    requestedBy: RequestedBy,
    expiresAt: UtcTimestamp.optional(),
    maxExecutions: z.number().int().positive().max(1_000_000).optional(),
    tokenHash: Sha256Hex.optional(),
    /** The ledger's receive time (as metadata.recordedAt). */
    grantedAt: UtcTimestamp,
    /**
     * True when `approvedBy` is the verified subject of the approver's own signed assertion (a JWT of the configured
     * identity provider); false (or absent, in grants recorded before it existed) when it is as the gateway claimed.
     */
    approverVerified: z.boolean().optional(),
    /** With `approverVerified`: SHA-256 (hex) of the assertion; the token itself is never stored. */
    approverAssertionHash: Sha256Hex.optional(),
    /** When the gateway decided (its clock, checked against the ledger's skew bound); absent in older events. */
    occurredAt: UtcTimestamp.optional(),
    /** When the gateway asked a human for this decision (optional). */
    requestedAt: UtcTimestamp.optional(),
  })
  .strict();

/** Whether a grant's approver was proven: grants recorded before proofs existed read as unproven. */
export const approverVerifiedOf = (grant: Pick<ApprovalGrantedData, 'approverVerified'>): boolean =>
  grant.approverVerified === true;

export const ApprovalRejectedData = z
  .object({
    approvalId: Identifier,
    by: PrincipalName,
    reason: z.string().min(1).max(4096),
    instruction: z.string().min(1).max(16_384).optional(),
    rejectedAt: UtcTimestamp,
    /** When the gateway decided (its clock, checked against the ledger's skew bound); absent in older events. */
    occurredAt: UtcTimestamp.optional(),
    /** When the gateway asked a human for this decision (optional). */
    requestedAt: UtcTimestamp.optional(),
  })
  .strict();

export const ApprovalRevokedData = z
  .object({
    approvalId: Identifier,
    by: PrincipalName,
    reason: z.string().min(1).max(4096),
    revokedAt: UtcTimestamp,
    /** When the gateway decided (its clock, checked against the ledger's skew bound); absent in older events. */
    occurredAt: UtcTimestamp.optional(),
  })
  .strict();

export const Artifact = z
  .object({
    path: z.string().min(1).max(4096),
    sha256: Sha256Hex,
    bytes: z.number().int().nonnegative(),
  })
  .strict();

/** The stored output: at most the configured cap of text, with the digest and size of the full output. */
export const StoredOutput = z
  .object({
    text: z.string(),
    truncated: z.boolean(),
    sha256: Sha256Hex,
    bytes: z.number().int().nonnegative(),
  })
  .strict();

export const ExecutionLoggedData = z
  .object({
    executionId: Identifier,
    approvalId: Identifier.optional(),
    sessionId: Identifier.optional(),
    workerId: Identifier,
    toolName: z.string().min(1).max(256),
    command: z.string().min(1).max(65_536),
    output: StoredOutput,
    exitCode: z.number().int().min(-1).max(255).nullable(),
    artifacts: z.array(Artifact).max(1024),
    startedAt: UtcTimestamp,
    finishedAt: UtcTimestamp,
    durationMs: z.number().int().nonnegative(),
    tokenHash: Sha256Hex.optional(),
    /** When the gateway submitted the command (after it ran); absent in older events. Lifecycle uses `startedAt`. */
    occurredAt: UtcTimestamp.optional(),
  })
  .strict();

export type ApprovalGrantedData = z.infer<typeof ApprovalGrantedData>;
export type ApprovalRejectedData = z.infer<typeof ApprovalRejectedData>;
export type ApprovalRevokedData = z.infer<typeof ApprovalRevokedData>;
export type ExecutionLoggedData = z.infer<typeof ExecutionLoggedData>;

/** Stored `type` strings: literals, never class names. */
export type ApprovalStreamEvent =
  | { type: 'ApprovalGranted'; data: ApprovalGrantedData }
  | { type: 'ApprovalRejected'; data: ApprovalRejectedData }
  | { type: 'ApprovalRevoked'; data: ApprovalRevokedData }
  | { type: 'ExecutionLogged'; data: ExecutionLoggedData };

export const APPROVAL_STREAM_EVENT_SCHEMAS = {
  ApprovalGranted: ApprovalGrantedData,
  ApprovalRejected: ApprovalRejectedData,
  ApprovalRevoked: ApprovalRevokedData,
  ExecutionLogged: ExecutionLoggedData,
} as const;

export type ApprovalStreamEventType = keyof typeof APPROVAL_STREAM_EVENT_SCHEMAS;

export function isApprovalStreamEventType(type: string): type is ApprovalStreamEventType {
  return Object.hasOwn(APPROVAL_STREAM_EVENT_SCHEMAS, type);
}
