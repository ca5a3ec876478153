import { z } from 'zod';

/**
 * Response shapes of the routes whose handlers return plain objects (not a zod-validated item), for the OpenAPI
 * document only. `test/e2e/openapi.e2e-spec.ts` checks real responses against them, so they cannot drift silently.
 * Nested parts that are reports of their own (worker status, verification details) stay open (`looseObject`).
 */
const Json = z.record(z.string(), z.unknown());

export const ErrorResponseSchema = z
  .object({
    error: z.object({
      code: z.string().describe('stable, dotted: `VALIDATION.FAILED`, `AUTH.FORBIDDEN`, `STREAM.NOT_FOUND`, …'),
      message: z.string(),
      issues: z.array(z.looseObject({ path: z.string(), message: z.string() })).optional(),
      details: z
        .looseObject({})
        .optional()
        .describe('EVENT_STORE.IDEMPOTENCY_CONFLICT: the key, the stored event, the fields that differ'),
    }),
  })
  .describe('Every error (docs/api.md, "Errors")');

const WireEventSchema = z.object({
  eventId: z.string(),
  type: z.string(),
  streamId: z.string(),
  streamRevision: z.number().int(),
  globalPosition: z.string().describe('decimal string (64-bit)'),
  data: Json,
  metadata: Json,
  prevHash: z.string(),
  hash: z.string(),
  recordedAt: z.string().describe('ISO 8601'),
});

export const StreamReadSchema = z.object({ streamId: z.string(), events: z.array(WireEventSchema) });

export const StreamReplaySchema = z.looseObject({
  streamId: z.string(),
  events: z.array(
    WireEventSchema.extend({
      occurredAt: z.string().nullable(),
      hashStatus: z.enum(['ok', 'hash_mismatch', 'broken_link']),
      linkOk: z.boolean(),
      hashOk: z.boolean(),
    }),
  ),
});

export const HealthSchema = z.looseObject({
  status: z.enum(['ok', 'degraded']),
  database: z.enum(['reachable', 'unreachable']),
  migrationsApplied: z.number().int(),
});

export const ReconciliationStatusSchema = z.object({ processor: z.looseObject({}), alerts: z.looseObject({}) });

export const RerunJobSchema = z.looseObject({
  id: z.string(),
  state: z.string(),
  since: z.string(),
  requestedBy: z.string(),
  total: z.number().int().nullable(),
  verdictsChanged: z.number().int(),
  eventsPerSecond: z.number(),
  cancelRequested: z.boolean(),
  startedAt: z.string(),
  finishedAt: z.string().nullable(),
  error: z.string().nullable(),
});

export const RerunJobListSchema = z.object({ jobs: z.array(RerunJobSchema) });

export const IntegritySchema = z.object({
  checkpointsEnabled: z.boolean(),
  lastCheckpoint: z
    .looseObject({
      fromPosition: z.string(),
      toPosition: z.string(),
      count: z.number().int(),
      merkleRoot: z.string(),
      keyId: z.string(),
      sealedAt: z.string(),
      checkpointHash: z.string(),
      globalPosition: z.string(),
    })
    .nullable(),
  verification: z.looseObject({}).nullable(),
  witnesses: z.array(z.looseObject({})),
});

export const EvidenceBundleSchema = z
  .looseObject({ events: z.array(z.looseObject({})) })
  .describe('An evidence bundle (docs/integrity.md): events, hashes, Merkle proofs, signed checkpoints');

export const SummariesSchema = z.object({
  bucket: z.string(),
  groupBy: z.array(z.string()),
  p95: z.looseObject({}),
  truncated: z.boolean(),
  items: z.array(z.looseObject({})),
});

export const KeyRevokedSchema = z.object({ keyId: z.string(), status: z.literal('revoked') });

/** `content` of a streamed export (CSV, a JSON array, JSON lines), for `@ApiOkResponse({ content })`. */
export const EXPORT_CONTENT = {
  'text/csv': { schema: { type: 'string', description: 'RFC 4180, a header line first' } },
  'application/json': { schema: { type: 'array', items: { type: 'object' } } },
  'application/x-ndjson': { schema: { type: 'string', description: 'one JSON object per line' } },
};

/** `content` of a server-sent events stream. */
export const EVENT_STREAM_CONTENT = {
  'text/event-stream': {
    schema: { type: 'string', description: 'server-sent events (`event:`, `id:`, `data:` JSON)' },
  },
};

const count = z.number().int().nonnegative();

export const SessionItemSchema = z.object({
  sessionId: z.string(),
  totalActions: count,
  byRisk: z.object({ safe: count, moderate: count, destructive: count, critical: count, none: count }),
  approved: count,
  rejected: count,
  successful: count,
  failed: count,
  totalDurationMs: z.number(),
  firstActionAt: z.string(),
  lastActionAt: z.string(),
});

export const WhoamiSchema = z.object({
  principal: z.object({ id: z.string(), kind: z.string(), name: z.string(), roles: z.array(z.string()) }),
});

export const VerifyRunSchema = z
  .looseObject({ ok: z.boolean(), scope: z.looseObject({}), startedAt: z.string(), durationMs: z.number() })
  .describe("what `ledger verify` reports (docs/integrity.md), with the run's scope and times");

const named = <K extends string>(key: K) => z.array(z.object({ [key]: z.string(), count }));

export const DashboardOverviewSchema = z.looseObject({
  range: z.object({ from: z.string(), to: z.string(), bucket: z.enum(['hour', 'day']) }),
  series: z.array(z.object({ t: z.string(), executions: count, mismatches: count, unclear: count })),
  mismatchesByKind: named('kind'),
  mismatchesBySeverity: named('severity'),
  approvalsByStatus: named('status'),
  topWorkers: named('workerId'),
  topTools: named('tool'),
  topSessions: named('sessionId'),
  approvalTimeMs: z.looseObject({ count }),
  readModelLag: z.array(z.looseObject({ projection: z.string() })),
  lastCheckpoint: z.looseObject({}).nullable(),
});

export const LiveSchema = z.object({ status: z.literal('ok'), uptimeSeconds: z.number() });

export const ReadySchema = z.object({
  status: z.enum(['ready', 'not_ready']),
  database: z.enum(['reachable', 'unreachable']),
  migrationsApplied: z.number().int(),
});

export const WorkersSchema = z.looseObject({ status: z.enum(['ok', 'degraded']) });

/** `content` of the Prometheus text exposition. */
export const PROMETHEUS_CONTENT = {
  'text/plain': { schema: { type: 'string', description: 'Prometheus text exposition format 0.0.4' } },
};
