// The query API's items as the dashboard reads them (libs/read-models/src/queries/read-model-items.schema.ts).

export interface Approval {
  approvalId: string;
  streamId: string;
  instruction: string | null;
  approvedCommands: string[];
  scope: { paths?: string[]; hosts?: string[] } | null;
  riskLevel: string | null;
  decision: string | null;
  approvedBy: string | null;
  approverVerified: boolean;
  requestedBy: { agentId: string | null; workerId: string | null; sessionId: string | null };
  maxExecutions: number | null;
  status: string;
  createdAt: string;
  grantedAt: string | null;
  expiresAt: string | null;
  rejectedBy: string | null;
  rejectedAt: string | null;
  rejectionReason: string | null;
  revokedBy: string | null;
  revokedAt: string | null;
  revocationReason: string | null;
  approvalTimeMs: number | null;
  executionCount: number;
  mismatchCount: number;
}

export interface Execution {
  executionId: string;
  approvalId: string | null;
  sessionId: string | null;
  workerId: string;
  toolName: string;
  command: string;
  exitCode: number | null;
  startedAt: string;
  finishedAt: string;
  durationMs: number | null;
  riskLevel: string;
  reconciliationVerdict: string | null;
  outputBytes: number | null;
  outputTruncated: boolean;
  artifacts: { path: string; sha256: string; bytes: number }[] | null;
  streamId: string;
  globalPosition: string;
}

export interface Mismatch {
  mismatchId: string;
  approvalId: string | null;
  executionId: string | null;
  kind: string;
  kinds: string[];
  severity: string;
  explanation: string;
  approved: unknown;
  executed: unknown;
  detectedAt: string;
  reviewState: string;
  reviewer: string | null;
  resolution: string | null;
  reviewNote: string | null;
  reviewedAt: string | null;
  approvedBy: string | null;
  globalPosition: string;
  /** On ledgers that record it (issue 15): the session of the execution. */
  sessionId?: string | null;
  workerId?: string | null;
}

export interface SummaryItem {
  bucket: string;
  worker?: string | null;
  riskLevel?: string | null;
  toolName?: string | null;
  session?: string | null;
  executions: number;
  successes: number;
  failures: number;
  totalDurationMs: number;
  p95DurationMs: number | null;
  mismatchesByKind: Record<string, number>;
  approvalsTimed?: number;
  approvalTimeMs?: number;
  approvalTimeP95Ms?: number;
  /** Issue 15: approved and rejected approvals per session, on ledgers that count them. */
  approved?: number;
  rejected?: number;
}

export interface Summaries {
  bucket: string;
  items: SummaryItem[];
  truncated: boolean;
}

export interface StreamEvent {
  eventId: string;
  type: string;
  streamRevision: number;
  globalPosition: string;
  data: Record<string, unknown>;
  recordedAt: string;
  hash: string;
  prevHash: string;
}

interface ReplayedEvent extends StreamEvent {
  occurredAt?: string;
  hashStatus: string;
  linkOk: boolean;
  hashOk: boolean;
}

export interface Replay {
  streamId: string;
  eventCount: number;
  chainIntact: boolean;
  firstBrokenPosition: string | null;
  events: ReplayedEvent[];
  state: { status: string; active: boolean; executions: string[] };
}

/** `GET /v1/dashboard/overview` (docs/dashboard.md; served by ledgers with issue 15's API). */
export interface Overview {
  range: { from: string; to: string; bucket: string };
  series: { t: string; executions: number; mismatches: number; unclear: number }[];
  mismatchesByKind: { kind: string; count: number }[];
  mismatchesBySeverity: { severity: string; count: number }[];
  approvalsByStatus: { status: string; count: number }[];
  topWorkers: { workerId: string; count: number }[];
  topTools: { tool: string; count: number }[];
  topSessions: { sessionId: string; count: number }[];
  approvalTimeMs: { p50: number | null; p95: number | null; max: number | null; count: number };
  readModelLag: { projection: string; lagEvents: number; lagMs: number | null }[];
  lastCheckpoint: { position: string; sealedAt: string } | null;
}

/** `GET /v1/sessions` items and `GET /v1/sessions/:sessionId` (issue 15's API). */
export interface SessionSummary {
  sessionId: string;
  totalActions: number;
  byRisk: Record<string, number>;
  approved: number;
  rejected: number;
  successful: number;
  failed: number;
  totalDurationMs: number;
  firstActionAt: string | null;
  lastActionAt: string | null;
}
