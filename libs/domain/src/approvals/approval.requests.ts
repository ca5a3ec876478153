import { z } from 'zod';
import { Sha256Hex } from '../shared/primitives.js';
import {
  ApprovalGrantedData,
  ApprovalRejectedData,
  ApprovalRevokedData,
  ExecutionLoggedData,
  RequestedBy,
  StoredOutput,
} from './approval.events.js';

// What a gateway sends, over TCP, NATS or HTTP. Validated at the edge; the ledger derives the stored events from them.

/** Raw tokens are HMACed by the ledger; a client that holds the key may send `tokenHash` instead. Never both. */
const tokenFields = {
  token: z.string().min(1).max(4096).optional(),
  tokenHash: Sha256Hex.optional(),
};

const oneTokenForm = (value: { token?: string | undefined; tokenHash?: string | undefined }) =>
  !(value.token !== undefined && value.tokenHash !== undefined);
const oneTokenFormIssue = { message: 'send either token or tokenHash, not both', path: ['tokenHash'] };

/** Raw output accepted on the wire; what is stored is capped (see the output cap in the ledger's configuration). */
export const MAX_RAW_OUTPUT_CHARS = 16 * 1024 * 1024;

// Request shapes derive from the stored event shapes, so a field's limits are written once.

/** Longest approver assertion accepted: far above any identity provider's token, bounded like every field. */
export const MAX_APPROVER_ASSERTION_CHARS = 16_384;

/** A compact JWS (`header.payload.signature`, base64url): the approver's JWT. Verified by the ledger, never stored. */
export const ApproverAssertion = z
  .string()
  .min(1)
  .max(MAX_APPROVER_ASSERTION_CHARS)
  .regex(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/, 'a compact JWT (header.payload.signature)');

export const GrantApprovalRequest = ApprovalGrantedData.omit({
  grantedAt: true,
  tokenHash: true,
  approverVerified: true,
  approverAssertionHash: true,
})
  .extend({
    approvedCommands: ApprovalGrantedData.shape.approvedCommands.default([]),
    decision: ApprovalGrantedData.shape.decision.default('approved'),
    requestedBy: RequestedBy.default({}),
    /** Who approved, as the gateway says; with a valid `approverAssertion` the ledger records its subject instead. */
    approvedBy: ApprovalGrantedData.shape.approvedBy.optional(),
    /** The approver's own signed assertion (a JWT of the configured identity provider). */
    approverAssertion: ApproverAssertion.optional(),
    ...tokenFields,
  })
  .strict()
  .refine(oneTokenForm, oneTokenFormIssue)
  .refine((value) => value.approvedBy !== undefined || value.approverAssertion !== undefined, {
    message: 'a grant names its approvedBy, or carries the approverAssertion that proves it',
    path: ['approvedBy'],
  });

export const RejectApprovalRequest = ApprovalRejectedData.omit({ rejectedAt: true }).strict();

export const RevokeApprovalRequest = ApprovalRevokedData.omit({ revokedAt: true }).strict();

export const LogExecutionRequest = ExecutionLoggedData.omit({ output: true, durationMs: true, tokenHash: true })
  .extend({
    toolName: ExecutionLoggedData.shape.toolName.default('shell'),
    output: z.string().max(MAX_RAW_OUTPUT_CHARS).default(''),
    /**
     * The SHA-256 and UTF-8 size of the output as it ran, when the gateway redacted `output` before sending it (the
     * client does, before it spools): the stored digest then still covers the original bytes. Absent: the ledger
     * computes them from `output`.
     */
    outputDigest: StoredOutput.pick({ sha256: true, bytes: true }).strict().optional(),
    artifacts: ExecutionLoggedData.shape.artifacts.default([]),
    durationMs: ExecutionLoggedData.shape.durationMs.optional(),
    ...tokenFields,
  })
  .strict()
  .refine((value) => value.approvalId !== undefined || value.sessionId !== undefined, {
    message: 'an execution names its approvalId, or its sessionId when it needed no approval',
    path: ['approvalId'],
  })
  .refine((value) => value.finishedAt >= value.startedAt, {
    message: 'finishedAt is before startedAt',
    path: ['finishedAt'],
  })
  .refine(oneTokenForm, oneTokenFormIssue);

export type GrantApprovalRequest = z.input<typeof GrantApprovalRequest>;
export type RejectApprovalRequest = z.input<typeof RejectApprovalRequest>;
export type RevokeApprovalRequest = z.input<typeof RevokeApprovalRequest>;
export type LogExecutionRequest = z.input<typeof LogExecutionRequest>;
export type ParsedGrantApprovalRequest = z.output<typeof GrantApprovalRequest>;
export type ParsedRejectApprovalRequest = z.output<typeof RejectApprovalRequest>;
export type ParsedRevokeApprovalRequest = z.output<typeof RevokeApprovalRequest>;
export type ParsedLogExecutionRequest = z.output<typeof LogExecutionRequest>;

/** Message patterns of the microservice transports (TCP, NATS). Part of the wire contract. */
export const MESSAGE_PATTERNS = {
  grantApproval: 'approvals.grant',
  rejectApproval: 'approvals.reject',
  revokeApproval: 'approvals.revoke',
  logExecution: 'executions.log',
} as const;

/** The durable acknowledgement every command gets. Positions travel as decimal strings (they are 64-bit). */
export const CommandAck = z.object({
  eventId: z.string(),
  streamId: z.string(),
  streamRevision: z.number().int().nonnegative(),
  globalPosition: z.string().regex(/^\d+$/),
  hash: Sha256Hex,
  /** True when this command had been recorded before: nothing was appended, this is the original result. */
  duplicate: z.boolean(),
});
export type CommandAck = z.infer<typeof CommandAck>;
