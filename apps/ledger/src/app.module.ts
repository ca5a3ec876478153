import { type EventStore } from '@audit-ledger/event-store';
import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';
import { CqrsModule } from '@nestjs/cqrs';
import type { Logger } from 'pino';
import { AuditAccessInterceptor, AuditAccessRecorder } from './audit-access/index.js';
import { GrantApprovalHandler } from './approvals/grant-approval/grant-approval.handler.js';
import { GrantApprovalHttpController } from './approvals/grant-approval/grant-approval.http.controller.js';
import { GrantApprovalMessageController } from './approvals/grant-approval/grant-approval.message.controller.js';
import { LogExecutionHandler } from './approvals/log-execution/log-execution.handler.js';
import { LogExecutionHttpController } from './approvals/log-execution/log-execution.http.controller.js';
import { LogExecutionMessageController } from './approvals/log-execution/log-execution.message.controller.js';
import { RejectApprovalHandler } from './approvals/reject-approval/reject-approval.handler.js';
import { RejectApprovalHttpController } from './approvals/reject-approval/reject-approval.http.controller.js';
import { RejectApprovalMessageController } from './approvals/reject-approval/reject-approval.message.controller.js';
import { RevokeApprovalHandler } from './approvals/revoke-approval/revoke-approval.handler.js';
import { RevokeApprovalHttpController } from './approvals/revoke-approval/revoke-approval.http.controller.js';
import { RevokeApprovalMessageController } from './approvals/revoke-approval/revoke-approval.message.controller.js';
import { AlertDispatcher } from './alerts/alert-dispatcher.js';
import { AlertsStreamHttpController, SSE_ALERT_SINK } from './alerts/alerts-stream.http.controller.js';
import { SseAlertSink } from './alerts/sse.alert-sink.js';
import { type LedgerConfig } from './config/ledger.config.js';
import {
  HealthController,
  PROJECTIONS_STATUS,
  STORE_HEALTH,
  type ProjectionsStatusProbe,
  type StoreHealthProbe,
} from './health/health.controller.js';
import { ProbesHttpController } from './health/probes.http.controller.js';
import { StoreMonitor } from './health/store-monitor.service.js';
import { CallContextInterceptor } from './logging/call-context.interceptor.js';
import { LedgerMetrics } from './metrics/ledger-metrics.js';
import { MetricsHttpController } from './metrics/metrics.http.controller.js';
import { AccessGuard } from './identity/access-guard.js';
import { AccessRefusals } from './identity/access-refusals.js';
import { PrincipalRateLimiter } from './identity/rate-limit/principal-rate-limiter.js';
import { CONNECTION_PRINCIPAL, type ConnectionPrincipal } from './identity/connection-principal.js';
import { ApiKeyAdmin } from './identity/api-key-admin.js';
import { ApiKeysHttpController } from './identity/api-keys.http.controller.js';
import { AUTHENTICATOR, type Authenticator } from './identity/authenticator.js';
import { IntegrityHttpController } from './integrity/integrity.http.controller.js';
import { approverProofOf, APPROVER_PROOF, JWT_AUTHENTICATOR, type JwtAuthenticator } from './identity/jwt/index.js';
import { LastCheckpointVerification } from './integrity/last-checkpoint-verification.js';
import { WITNESS_STATUS, type WitnessStatusProbe } from './integrity/witness-publisher.js';
import { PARTITIONS_STATUS, type PartitionsStatusProbe } from './partitions/partitions-status.js';
import { LedgerExceptionFilter } from './shared/ledger-exception.filter.js';
import {
  RECONCILIATION_STATUS,
  ReconciliationStatusHttpController,
  type ReconciliationStatusProbe,
} from './reconciliation/reconciliation-status.http.controller.js';
import { RECONCILIATION_JUDGE, type AskJudge } from './reconciliation/ask-judge.js';
import { RerunReconciliationHttpController } from './reconciliation/rerun-reconciliation/rerun-reconciliation.http.controller.js';
import { RerunJobs } from './reconciliation/rerun-reconciliation/rerun-jobs.js';
import { ReviewMismatchHandler } from './reconciliation/review-mismatch/review-mismatch.handler.js';
import { ReviewMismatchHttpController } from './reconciliation/review-mismatch/review-mismatch.http.controller.js';
import { ReadStreamHttpController } from './streams/read-stream.http.controller.js';
import { ApprovalsQueryHttpController } from './queries/approvals-query.http.controller.js';
import { ExecutionsQueryHttpController } from './queries/executions-query.http.controller.js';
import { MismatchesQueryHttpController } from './queries/mismatches-query.http.controller.js';
import { queriesProviders } from './queries/queries.providers.js';
import { SummariesQueryHttpController } from './queries/summaries-query.http.controller.js';
import { SessionsQueryHttpController } from './queries/sessions-query.http.controller.js';
import { DashboardOverviewHttpController } from './queries/dashboard-overview.http.controller.js';
import { MismatchStreams } from './queries/mismatch-streams.js';
import { WhoamiHttpController } from './identity/whoami.http.controller.js';
import { VerifyRunHttpController } from './integrity/verify-run.http.controller.js';
import { ledgerRedactor } from './redaction/ledger-redactor.js';
import { ApproveErasureHandler } from './erasure/approve-erasure/approve-erasure.handler.js';
import { ApproveErasureHttpController } from './erasure/approve-erasure/approve-erasure.http.controller.js';
import type { PayloadCipher } from './erasure/payload-cipher.js';
import type { PayloadErasure } from './erasure/payload-erasure.js';
import {
  CLOCK,
  DATABASE_URL,
  EVENT_STORE,
  LEDGER_CONFIG,
  LOGGER,
  PAYLOAD_CIPHER,
  PAYLOAD_ERASURE,
  READABLE_EVENT_STORE,
  REDACTOR,
  TOKEN_SECRET,
  systemClock,
} from './shared/tokens.js';
import { TracingInterceptor } from './tracing/tracing.interceptor.js';

export interface LedgerDependencies {
  config: LedgerConfig;
  store: EventStore;
  storeHealth: StoreHealthProbe;
  monitor: StoreMonitor;
  logger: Logger;
  tokenSecret: string;
  alerts: AlertDispatcher;
  sseAlerts: SseAlertSink;
  reconciliationStatus: ReconciliationStatusProbe;
  /** The LLM judge, when configured (LEDGER_JUDGE_URL). */
  judge?: AskJudge;
  projectionsStatus: ProjectionsStatusProbe;
  /** The owner's URL; the query API opens a small read-only pool on it. */
  databaseUrl: string;
  /** `store` with sealed fields opened: what the reconciler reads and appends through. */
  readableStore: EventStore;
  /** Seals executions' sensitive fields on append and opens them for stream reads (docs/security.md). */
  payloadCipher: PayloadCipher;
  /** Destroys a stream's data keys and scrubs the read models (`ledger erase`). */
  payloadErasure: PayloadErasure;
  /** The witnesses' delivery status (empty when none is configured). */
  witnessStatus?: WitnessStatusProbe;
  /** The events table's partition rolling (partitions/), for `/health`. */
  partitionsStatus?: PartitionsStatusProbe;
  /** API keys (and JWTs when OIDC is configured): what the guards call, under the token AUTHENTICATOR. */
  authenticator: Authenticator;
  /** Issues, rotates, revokes and lists API keys (the `principals` stream). */
  apiKeyAdmin: ApiKeyAdmin;
  /** Verifies bearer JWTs of the OIDC issuer, when configured (LEDGER_OIDC_ISSUER); also backs approver proofs. */
  jwtAuthenticator?: JwtAuthenticator;
  /** The principal a connection proves by itself (TLS client certificates), if any. */
  connectionPrincipal?: ConnectionPrincipal;
  /** The Prometheus registry and its hooks (`GET /metrics`). */
  metrics: LedgerMetrics;
}

/** Every controller of the ledger: each of their routes and message patterns declares its access (identity/access.ts). */
export const LEDGER_CONTROLLERS = [
  GrantApprovalMessageController,
  GrantApprovalHttpController,
  RejectApprovalMessageController,
  RejectApprovalHttpController,
  RevokeApprovalMessageController,
  RevokeApprovalHttpController,
  LogExecutionMessageController,
  LogExecutionHttpController,
  ReadStreamHttpController,
  HealthController,
  ProbesHttpController,
  MetricsHttpController,
  ReviewMismatchHttpController,
  ReconciliationStatusHttpController,
  RerunReconciliationHttpController,
  AlertsStreamHttpController,
  IntegrityHttpController,
  ApprovalsQueryHttpController,
  ExecutionsQueryHttpController,
  MismatchesQueryHttpController,
  SummariesQueryHttpController,
  SessionsQueryHttpController,
  DashboardOverviewHttpController,
  WhoamiHttpController,
  VerifyRunHttpController,
  ApiKeysHttpController,
  ApproveErasureHttpController,
] as const;

/** Outside things (store, config, logger) are built by the bootstrap and handed in; Nest only wires the slices. */
@Module({})
export class AppModule {
  static register(deps: LedgerDependencies): DynamicModule {
    return {
      module: AppModule,
      imports: [CqrsModule.forRoot()],
      controllers: [...LEDGER_CONTROLLERS],
      providers: [
        { provide: LEDGER_CONFIG, useValue: deps.config },
        { provide: EVENT_STORE, useValue: deps.store },
        { provide: STORE_HEALTH, useValue: deps.storeHealth },
        { provide: StoreMonitor, useValue: deps.monitor },
        { provide: LOGGER, useValue: deps.logger },
        { provide: TOKEN_SECRET, useValue: deps.tokenSecret },
        { provide: REDACTOR, useValue: ledgerRedactor(deps.config, deps.tokenSecret) },
        { provide: CLOCK, useValue: systemClock },
        { provide: DATABASE_URL, useValue: deps.databaseUrl },
        { provide: PAYLOAD_CIPHER, useValue: deps.payloadCipher },
        { provide: READABLE_EVENT_STORE, useValue: deps.readableStore },
        { provide: PAYLOAD_ERASURE, useValue: deps.payloadErasure },
        { provide: AUTHENTICATOR, useValue: deps.authenticator },
        { provide: ApiKeyAdmin, useValue: deps.apiKeyAdmin },
        LastCheckpointVerification,
        { provide: APP_FILTER, useClass: LedgerExceptionFilter },
        { provide: CONNECTION_PRINCIPAL, useValue: deps.connectionPrincipal ?? null },
        AccessRefusals,
        {
          provide: PrincipalRateLimiter,
          useValue: new PrincipalRateLimiter({
            perSecond: deps.config.rateLimitPerSecond,
            burst: deps.config.rateLimitBurst,
          }),
        },
        { provide: LedgerMetrics, useValue: deps.metrics },
        { provide: APP_GUARD, useClass: AccessGuard },
        { provide: APP_INTERCEPTOR, useClass: CallContextInterceptor },
        AuditAccessRecorder,
        { provide: APP_INTERCEPTOR, useClass: TracingInterceptor },
        { provide: APP_INTERCEPTOR, useClass: AuditAccessInterceptor },
        GrantApprovalHandler,
        RejectApprovalHandler,
        RevokeApprovalHandler,
        LogExecutionHandler,
        ReviewMismatchHandler,
        ApproveErasureHandler,
        RerunJobs,
        { provide: AlertDispatcher, useValue: deps.alerts },
        { provide: SSE_ALERT_SINK, useValue: deps.sseAlerts },
        { provide: RECONCILIATION_STATUS, useValue: deps.reconciliationStatus },
        { provide: RECONCILIATION_JUDGE, useValue: deps.judge ?? null },
        { provide: PROJECTIONS_STATUS, useValue: deps.projectionsStatus },
        { provide: WITNESS_STATUS, useValue: deps.witnessStatus ?? (() => []) },
        { provide: PARTITIONS_STATUS, useValue: deps.partitionsStatus ?? (() => ({ enabled: false })) },
        ...queriesProviders(deps.databaseUrl),
        MismatchStreams,
        { provide: JWT_AUTHENTICATOR, useValue: deps.jwtAuthenticator ?? null },
        {
          provide: APPROVER_PROOF,
          useValue: approverProofOf(deps.jwtAuthenticator, deps.config.approverAudience) ?? null,
        },
      ],
    };
  }
}
