import { PARTITION_PERIODS } from '../partitions/partition-period.js';
import { ALERTING_VARIABLES, alertingProblems, alertingSettings } from '@audit-ledger/alerts';
import { z } from 'zod';
import { insecureKeySourceProblem, OIDC_ALGORITHMS, parseRoleMap } from '../identity/jwt/oidc-options.js';
import {
  TRANSPORT_SECURITY_VARIABLES,
  transportSecurityProblems,
  transportSecuritySettings,
} from './transport-security.config.js';

const port = z.coerce.number().int().min(0).max(65_535);
const MiB = 1024 * 1024;

/**
 * Largest HTTP body (bytes). Raw outputs up to 16 Mi characters are accepted (and capped when stored); JSON escaping
 * of quotes, backslashes and newlines can double that, and 1,024 artifacts with 4,096-character paths add about 8 MiB.
 */
export const HTTP_BODY_LIMIT_BYTES = 40 * MiB;
/** Every command the HTTP API accepts also fits one TCP frame: its body plus the packet envelope and a margin. */
export const DEFAULT_TCP_MAX_FRAME_BYTES = HTTP_BODY_LIMIT_BYTES + 8 * MiB;
const milliseconds = (max: number) => z.coerce.number().int().min(0).max(max);
/** `true`/`false`/`1`/`0` from the environment (z.coerce.boolean would read "false" as true). */
const flag = z.union([z.boolean(), z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1')]);

/** A comma-separated list from the environment, or a list from overrides. */
const commaList = z.union([
  z.array(z.string().min(1)),
  z.string().transform((value) =>
    value
      .split(',')
      .map((entry) => entry.trim())
      .filter((entry) => entry !== ''),
  ),
]);

/** Every setting, its environment variable and default. docs/operations.md lists the same table. */
const LedgerConfigSchema = z.object({
  /** A PostgreSQL server to use; unset: an embedded PostgreSQL in `dataDir/pg`. */
  databaseUrl: z.string().url().optional(),
  /**
   * With `databaseUrl`: the login migrations run with (a superuser, or one with CREATEROLE); the service then runs as
   * `databaseUrl`'s login, which should be a member of ledger_writer only. Unset: migrations use `databaseUrl`.
   */
  migrationDatabaseUrl: z.string().url().optional(),
  dataDir: z.string().min(1).default('./data'),
  embeddedPgPort: port.default(54329),
  transport: z.enum(['tcp', 'nats']).default('tcp'),
  tcpHost: z.string().min(1).default('127.0.0.1'),
  tcpPort: port.default(4100),
  httpHost: z.string().min(1).default('127.0.0.1'),
  httpPort: port.default(8080),
  /** On stop, how long in-flight HTTP requests may finish before their connections are closed. */
  httpDrainMs: z.coerce.number().int().min(0).max(600_000).default(5_000),
  natsUrl: z.string().min(1).default('nats://127.0.0.1:4222'),
  /**
   * NATS queue group the command subjects are subscribed in: every ledger process in one group shares the commands,
   * each message handled by exactly one of them (docs/operations.md "Several processes").
   */
  natsQueue: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,128}$/, 'letters, digits, "_", "-" and "." only (a NATS queue group name)')
    .default('audit-ledger'),
  /** TCP transport bounds (docs/api.md "Transport limits"); a timeout of 0 switches it off. */
  tcpMaxFrameBytes: z.coerce
    .number()
    .int()
    .min(1024)
    .max(1024 * MiB)
    .default(DEFAULT_TCP_MAX_FRAME_BYTES),
  tcpMaxBufferedBytes: z.coerce
    .number()
    .int()
    .min(1024)
    .max(16 * 1024 * MiB)
    .default(256 * MiB),
  tcpMaxConnections: z.coerce.number().int().min(1).max(1_000_000).default(1000),
  tcpIdleTimeoutMs: milliseconds(86_400_000).default(300_000),
  tcpFrameTimeoutMs: milliseconds(3_600_000).default(60_000),
  /** HTTP bounds: whole request (headers and body) received within, headers within, idle keep-alive, any socket idle. */
  httpRequestTimeoutMs: milliseconds(3_600_000).default(120_000),
  httpHeadersTimeoutMs: milliseconds(600_000).default(20_000),
  httpKeepAliveTimeoutMs: milliseconds(600_000).default(5_000),
  httpIdleTimeoutMs: milliseconds(3_600_000).default(120_000),
  httpMaxConnections: z.coerce.number().int().min(1).max(1_000_000).default(1000),
  /** Requests per second, and burst, each authenticated principal may send (docs/security.md, "Limits"). */
  rateLimitPerSecond: z.coerce.number().min(0.001).max(1_000_000).default(5_000),
  rateLimitBurst: z.coerce.number().int().min(1).max(10_000_000).default(10_000),
  /** Stored output is cut to this many bytes (UTF-8); the full output's SHA-256 and size are kept. */
  outputCapBytes: z.coerce
    .number()
    .int()
    .min(0)
    .max(16 * 1024 * 1024)
    .default(64 * 1024),
  /**
   * How far ahead of the ledger's clock a command's `occurredAt` (and a grant's `requestedAt`) may be; beyond it the
   * command is refused with VALIDATION.CLOCK_SKEW. Times in the past are always accepted (spooled commands).
   */
  maxClockSkewMs: milliseconds(86_400_000).default(300_000),
  /** Key of the token HMAC; unset: generated once and kept in `dataDir/token-hmac.key`. */
  tokenHmacSecret: z.string().min(16).optional(),
  /**
   * Payload encryption (docs/security.md "Payload encryption"): an execution's output text, and its command when
   * `encryptCommands`, stored under a per-stream data key, so `ledger erase` can destroy them.
   */
  encryptOutputs: flag.default(true),
  encryptCommands: flag.default(false),
  /** The master key wrapping the data keys (64 hex digits); unset: generated once in `dataDir/payload-master.key`. */
  payloadMasterKey: z.string().min(64).optional(),
  /**
   * Secrets redaction (docs/security.md, "Secrets redaction"): a JSON file of rules to add, rule names to disable and
   * secrets to allow; rule names to disable and allowed secrets (`/regex/flags` or exact), comma-separated.
   */
  redactionRulesFile: z.string().min(1).optional(),
  redactionDisable: commaList.default([]),
  redactionAllow: commaList.default([]),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** One info line per HTTP request and per message (docs/operations.md, "Health and logs"); false: none. */
  accessLog: flag.default(true),
  /** PostgreSQL connections of the event store. */
  dbPoolSize: z.coerce.number().int().min(2).max(100).default(10),
  /** The reconciliation processor (docs/reconciliation.md). */
  reconciliationEnabled: flag.default(true),
  /** How often expired approvals are checked for `approval_unused`. */
  reconciliationUnusedIntervalMs: z.coerce.number().int().min(10).max(86_400_000).default(60_000),
  /**
   * Workers that run in one process at a time (the reconciliation processor, the checkpoint sealer): how often a
   * standby process tries to take over, and a leading one checks that it still holds its lock.
   */
  leaderRetryMs: z.coerce.number().int().min(50).max(60_000).default(1_000),
  /** Re-reconciliation jobs examine at most this many executions per second, so they cannot starve appends. */
  reconciliationRerunEventsPerSecond: z.coerce.number().int().min(1).max(100_000).default(200),
  ...alertingSettings,
  /** Also alert on ReconciliationUnclear (MismatchDetected always alerts). */
  alertOnUnclear: flag.default(false),
  /**
   * The optional LLM judge (docs/reconciliation.md): an OpenAI-compatible base URL (`…/v1`); unset: no judge. The
   * model is required with it; the key is sent as a bearer token; a slower answer than the timeout counts as none.
   */
  judgeUrl: z.string().url().optional(),
  judgeModel: z.string().trim().min(1).max(256).optional(),
  judgeApiKey: z.string().min(1).optional(),
  judgeTimeoutMs: z.coerce.number().int().min(100).max(600_000).default(10_000),
  /** The read-model projections (docs/read-models.md). */
  projectionsEnabled: flag.default(true),
  /**
   * Retention of the read models (docs/read-models.md "Retention"): detail rows older than this many days are
   * trimmed every `retentionIntervalMs`; 0 keeps them forever. The events are never trimmed.
   */
  readModelRetentionDays: z.coerce.number().int().min(0).max(36_500).default(400),
  retentionIntervalMs: z.coerce.number().int().min(1000).max(604_800_000).default(3_600_000),
  /**
   * The events table's partitions (docs/operations.md "Archive and drop"): the running ledger closes the open one when
   * a period (month, week or day, UTC) begins, checking at each period start and at least every interval; false:
   * only `ledger archive roll` does.
   */
  partitionRoll: flag.default(true),
  partitionPeriod: z.enum(PARTITION_PERIODS).default('month'),
  partitionCheckIntervalMs: z.coerce.number().int().min(1000).max(86_400_000).default(3_600_000),
  /** Signed checkpoints (docs/integrity.md): sealed every N events or T ms, whichever comes first. */
  checkpointsEnabled: flag.default(true),
  checkpointEveryEvents: z.coerce.number().int().min(1).max(10_000_000).default(10_000),
  checkpointEveryMs: z.coerce.number().int().min(10).max(86_400_000).default(1000),
  /** The checkpoint signing key (PEM or raw base64), or a file holding it; unset: generated into `dataDir/keys`. */
  signingKey: z.string().min(1).optional(),
  signingKeyFile: z.string().min(1).optional(),
  /** Directory of `*.pub` public keys accepted when verifying (rotation keeps old ones); default `dataDir/keys`. */
  verifyKeysDir: z.string().min(1).optional(),
  /** Also append every checkpoint to this file, kept away from the database (a witness). */
  witnessFile: z.string().min(1).optional(),
  /** An HTTP witness (`ledger witness serve`) that receives every checkpoint; its bearer token, if it wants one. */
  witnessUrl: z.string().url().optional(),
  witnessToken: z.string().min(1).optional(),
  /** First retry delay of a failed witness delivery; doubles per failure up to 30 s. */
  witnessBackoffMs: z.coerce.number().int().min(1).max(60_000).default(500),
  /** Start although the database is behind a witness: the witness head's checkpointHash (or position) abandoned. */
  acknowledgeRollback: z.string().trim().min(1).max(200).optional(),
  /**
   * OIDC (docs/security.md "OIDC / JWT"): bearer JWTs of this issuer are verified against its JWKS (discovered from
   * `<issuer>/.well-known/openid-configuration` unless the URL is given); unset: JWTs are not accepted.
   */
  oidcIssuer: z.string().url().optional(),
  oidcAudience: z.string().trim().min(1).max(1024).optional(),
  oidcJwksUrl: z.string().url().optional(),
  /** The claim holding the caller's groups or roles (a dotted path for nested claims: `realm_access.roles`). */
  oidcRolesClaim: z.string().trim().min(1).max(256).default('roles'),
  /** `idp-group=role,…` (a group may repeat to map to several roles); unset: claim values that are role names. */
  oidcRoleMap: z.string().trim().min(1).max(16_384).optional(),
  /** Accepted signature algorithms (asymmetric only: never `none` nor HS*). */
  oidcAlgorithms: z
    .string()
    .transform((list) => list.split(',').map((one) => one.trim()))
    .pipe(z.array(z.enum(OIDC_ALGORITHMS)).min(1))
    .default([...OIDC_ALGORITHMS]),
  /** Leeway for `exp`/`nbf`/`iat` against clock skew with the identity provider. */
  oidcClockToleranceSeconds: z.coerce.number().int().min(0).max(300).default(30),
  /** After a JWKS fetch, how long before a token with an unknown key id may trigger another (key rotation). */
  oidcJwksCooldownMs: milliseconds(3_600_000).default(30_000),
  /** Audience of approvers' assertions (a grant's `approverAssertion`); default: the OIDC audience. */
  approverAudience: z.string().trim().min(1).max(1024).optional(),
  /** Refuse grants without a valid `approverAssertion` (APPROVAL.APPROVER_PROOF_REQUIRED). */
  requireApproverProof: flag.default(false),
  /**
   * OpenTelemetry traces to this OTLP/HTTP endpoint (`http://collector:4318/v1/traces`); unset (and no
   * `OTEL_EXPORTER_OTLP_ENDPOINT`): tracing is off (docs/operations.md, "Traces").
   */
  otlpTracesEndpoint: z.string().url().optional(),
  /** Where the event streams live: `postgres` (the default) or `kurrentdb` (refused at start today, with the reason). */
  eventStore: z.enum(['postgres', 'kurrentdb']).default('postgres'),
  /** KurrentDB connection string (`kurrentdb://host:2113?tls=true`), with `LEDGER_EVENT_STORE=kurrentdb`. */
  kurrentdbUrl: z.string().trim().min(1).max(4096).optional(),
  /** TLS (TCP and HTTP) and NATS connection credentials: config/transport-security.config.ts. */
  ...transportSecuritySettings,
});

export type LedgerConfig = z.output<typeof LedgerConfigSchema>;
export type LedgerConfigInput = z.input<typeof LedgerConfigSchema>;

export const ENVIRONMENT_VARIABLES: Record<keyof LedgerConfig, string> = {
  databaseUrl: 'DATABASE_URL',
  otlpTracesEndpoint: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
  eventStore: 'LEDGER_EVENT_STORE',
  kurrentdbUrl: 'KURRENTDB_URL',
  migrationDatabaseUrl: 'LEDGER_MIGRATION_DATABASE_URL',
  dataDir: 'LEDGER_DATA_DIR',
  embeddedPgPort: 'LEDGER_EMBEDDED_PG_PORT',
  transport: 'LEDGER_TRANSPORT',
  tcpHost: 'LEDGER_TCP_HOST',
  tcpPort: 'LEDGER_TCP_PORT',
  httpHost: 'LEDGER_HTTP_HOST',
  httpPort: 'LEDGER_HTTP_PORT',
  natsUrl: 'LEDGER_NATS_URL',
  natsQueue: 'LEDGER_NATS_QUEUE',
  tcpMaxFrameBytes: 'LEDGER_TCP_MAX_FRAME_BYTES',
  tcpMaxBufferedBytes: 'LEDGER_TCP_MAX_BUFFERED_BYTES',
  tcpMaxConnections: 'LEDGER_TCP_MAX_CONNECTIONS',
  tcpIdleTimeoutMs: 'LEDGER_TCP_IDLE_TIMEOUT_MS',
  tcpFrameTimeoutMs: 'LEDGER_TCP_FRAME_TIMEOUT_MS',
  httpRequestTimeoutMs: 'LEDGER_HTTP_REQUEST_TIMEOUT_MS',
  httpHeadersTimeoutMs: 'LEDGER_HTTP_HEADERS_TIMEOUT_MS',
  httpKeepAliveTimeoutMs: 'LEDGER_HTTP_KEEP_ALIVE_TIMEOUT_MS',
  httpIdleTimeoutMs: 'LEDGER_HTTP_IDLE_TIMEOUT_MS',
  httpMaxConnections: 'LEDGER_HTTP_MAX_CONNECTIONS',
  httpDrainMs: 'LEDGER_HTTP_DRAIN_MS',
  rateLimitPerSecond: 'LEDGER_RATE_LIMIT_PER_SECOND',
  rateLimitBurst: 'LEDGER_RATE_LIMIT_BURST',
  outputCapBytes: 'LEDGER_OUTPUT_CAP_BYTES',
  maxClockSkewMs: 'LEDGER_MAX_CLOCK_SKEW_MS',
  tokenHmacSecret: 'LEDGER_TOKEN_HMAC_SECRET',
  encryptOutputs: 'LEDGER_ENCRYPT_OUTPUTS',
  encryptCommands: 'LEDGER_ENCRYPT_COMMANDS',
  payloadMasterKey: 'LEDGER_PAYLOAD_MASTER_KEY',
  redactionRulesFile: 'LEDGER_REDACTION_RULES_FILE',
  redactionDisable: 'LEDGER_REDACTION_DISABLE',
  redactionAllow: 'LEDGER_REDACTION_ALLOW',
  logLevel: 'LEDGER_LOG_LEVEL',
  accessLog: 'LEDGER_ACCESS_LOG',
  dbPoolSize: 'LEDGER_DB_POOL_SIZE',
  reconciliationEnabled: 'LEDGER_RECONCILIATION_ENABLED',
  reconciliationUnusedIntervalMs: 'LEDGER_RECONCILIATION_UNUSED_INTERVAL_MS',
  leaderRetryMs: 'LEDGER_LEADER_RETRY_MS',
  reconciliationRerunEventsPerSecond: 'LEDGER_RECONCILIATION_RERUN_EVENTS_PER_SECOND',
  ...ALERTING_VARIABLES,
  alertOnUnclear: 'LEDGER_ALERT_ON_UNCLEAR',
  judgeUrl: 'LEDGER_JUDGE_URL',
  judgeModel: 'LEDGER_JUDGE_MODEL',
  judgeApiKey: 'LEDGER_JUDGE_API_KEY',
  judgeTimeoutMs: 'LEDGER_JUDGE_TIMEOUT_MS',
  projectionsEnabled: 'LEDGER_PROJECTIONS_ENABLED',
  readModelRetentionDays: 'LEDGER_READ_MODEL_RETENTION_DAYS',
  retentionIntervalMs: 'LEDGER_RETENTION_INTERVAL_MS',
  partitionRoll: 'LEDGER_PARTITION_ROLL',
  partitionPeriod: 'LEDGER_PARTITION_PERIOD',
  partitionCheckIntervalMs: 'LEDGER_PARTITION_CHECK_INTERVAL_MS',
  checkpointsEnabled: 'LEDGER_CHECKPOINTS_ENABLED',
  checkpointEveryEvents: 'LEDGER_CHECKPOINT_EVERY_EVENTS',
  checkpointEveryMs: 'LEDGER_CHECKPOINT_EVERY_MS',
  signingKey: 'LEDGER_SIGNING_KEY',
  signingKeyFile: 'LEDGER_SIGNING_KEY_FILE',
  verifyKeysDir: 'LEDGER_VERIFY_KEYS_DIR',
  witnessFile: 'LEDGER_WITNESS_FILE',
  witnessUrl: 'LEDGER_WITNESS_URL',
  witnessToken: 'LEDGER_WITNESS_TOKEN',
  witnessBackoffMs: 'LEDGER_WITNESS_BACKOFF_MS',
  acknowledgeRollback: 'LEDGER_ACKNOWLEDGE_ROLLBACK',
  oidcIssuer: 'LEDGER_OIDC_ISSUER',
  oidcAudience: 'LEDGER_OIDC_AUDIENCE',
  oidcJwksUrl: 'LEDGER_OIDC_JWKS_URL',
  oidcRolesClaim: 'LEDGER_OIDC_ROLES_CLAIM',
  oidcRoleMap: 'LEDGER_OIDC_ROLE_MAP',
  oidcAlgorithms: 'LEDGER_OIDC_ALGORITHMS',
  oidcClockToleranceSeconds: 'LEDGER_OIDC_CLOCK_TOLERANCE_SECONDS',
  oidcJwksCooldownMs: 'LEDGER_OIDC_JWKS_COOLDOWN_MS',
  approverAudience: 'LEDGER_APPROVER_AUDIENCE',
  requireApproverProof: 'LEDGER_REQUIRE_APPROVER_PROOF',
  ...TRANSPORT_SECURITY_VARIABLES,
};

export class InvalidConfigError extends Error {
  readonly code = 'CONFIG.INVALID';
}

/** Reads the environment, then applies overrides (tests, CLI flags). Fails naming the variable and the reason. */
export function loadConfig(
  overrides: Partial<LedgerConfigInput> = {},
  env: NodeJS.ProcessEnv = process.env,
): LedgerConfig {
  const fromEnv: Record<string, string> = {};
  for (const [key, variable] of Object.entries(ENVIRONMENT_VARIABLES)) {
    const value = env[variable];
    if (value !== undefined && value !== '') fromEnv[key] = value;
  }
  const parsed = LedgerConfigSchema.safeParse({ ...fromEnv, ...stripUndefined(overrides) });
  if (!parsed.success) {
    const reasons = parsed.error.issues.map((issue) => {
      const key = String(issue.path[0] ?? '');
      const variable = ENVIRONMENT_VARIABLES[key as keyof LedgerConfig] ?? key;
      return `${variable}: ${issue.message}`;
    });
    throw new InvalidConfigError(`Invalid configuration: ${reasons.join('; ')}`);
  }
  const alerting = alertingProblems(parsed.data);
  if (alerting.length > 0) throw new InvalidConfigError(`Invalid configuration: ${alerting.join('; ')}`);
  if (parsed.data.tcpMaxBufferedBytes < parsed.data.tcpMaxFrameBytes) {
    throw new InvalidConfigError(
      'Invalid configuration: LEDGER_TCP_MAX_BUFFERED_BYTES: must be at least LEDGER_TCP_MAX_FRAME_BYTES (a largest frame must fit)',
    );
  }
  const { httpRequestTimeoutMs: request, httpHeadersTimeoutMs: headers } = parsed.data;
  if (request > 0 && (headers === 0 || headers > request)) {
    throw new InvalidConfigError(
      'Invalid configuration: LEDGER_HTTP_HEADERS_TIMEOUT_MS: must be between 1 and LEDGER_HTTP_REQUEST_TIMEOUT_MS',
    );
  }
  if (parsed.data.judgeUrl && !parsed.data.judgeModel) {
    throw new InvalidConfigError(
      'Invalid configuration: LEDGER_JUDGE_MODEL: required when LEDGER_JUDGE_URL is set (the model to ask)',
    );
  }
  checkOidc(parsed.data);
  const transportSecurity = transportSecurityProblems(parsed.data);
  if (transportSecurity.length > 0) {
    throw new InvalidConfigError(`Invalid configuration: ${transportSecurity.join('; ')}`);
  }
  return parsed.data;
}

function checkOidc(config: LedgerConfig): void {
  const oidcOnly = (['oidcAudience', 'oidcJwksUrl', 'oidcRoleMap', 'approverAudience', 'requireApproverProof'] as const)
    .filter((key) => config[key] !== undefined && config[key] !== false)
    .map((key) => ENVIRONMENT_VARIABLES[key]);
  if (!config.oidcIssuer && oidcOnly.length > 0) {
    throw new InvalidConfigError(
      `Invalid configuration: LEDGER_OIDC_ISSUER: required with ${oidcOnly.join(', ')} (JWTs are verified against an issuer)`,
    );
  }
  if (config.oidcIssuer && !config.oidcAudience) {
    throw new InvalidConfigError(
      'Invalid configuration: LEDGER_OIDC_AUDIENCE: required when LEDGER_OIDC_ISSUER is set (a token for another service must not pass)',
    );
  }
  for (const key of ['oidcIssuer', 'oidcJwksUrl'] as const) {
    const problem = config[key] === undefined ? undefined : insecureKeySourceProblem(config[key]);
    if (problem) throw new InvalidConfigError(`Invalid configuration: ${ENVIRONMENT_VARIABLES[key]}: ${problem}`);
  }
  if (config.oidcRoleMap !== undefined) {
    const problem = parseRoleMap(config.oidcRoleMap).problem;
    if (problem) throw new InvalidConfigError(`Invalid configuration: LEDGER_OIDC_ROLE_MAP: ${problem}`);
  }
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
