import { partitionStartsReader } from './archive/partition-starts.js';
import 'reflect-metadata';
import { PostgresEventStore } from '@audit-ledger/event-store';
import { ProjectionRunner, projectionsWithReconciliation, ReadModelRetention } from '@audit-ledger/read-models';
import { NestFactory } from '@nestjs/core';
import type { MicroserviceOptions } from '@nestjs/microservices';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { AddressInfo } from 'node:net';
import { parkedEventAlert } from './alerts/parked-event-alert.js';
import { AppModule } from './app.module.js';
import { loadConfig, type LedgerConfig, type LedgerConfigInput } from './config/ledger.config.js';
import { resolveTokenSecret } from './config/token-secret.js';
import { resolveDatabase } from './database/database-url.js';
import { StoreMonitor } from './health/store-monitor.service.js';
import { openPayloadKeys } from './erasure/payload-keys.js';
import { CheckpointSealer, resolveIntegrityKeys } from './integrity/index.js';
import { integrityKeysDir } from './integrity/integrity-keys.js';
import { startWitnesses } from './integrity/start-witnesses.js';
import type { ApiKeyAdmin } from './identity/api-key-admin.js';
import { assertSecretFilesPrivate } from './identity/secret-file-modes.js';
import { startIdentity } from './identity/start-identity.js';
import { JwtAuthenticator, oidcOptionsOf } from './identity/jwt/index.js';
import { genReqId, installHttpAccessLog } from './logging/access-log.js';
import { createLogger, PinoNestLogger } from './logging/logger.js';
import { startLine } from './logging/start-line.js';
import { LedgerMetrics } from './metrics/ledger-metrics.js';
import { observeAppends } from './metrics/observe-appends.js';
import { buildOpenApiDocument, setupOpenApi } from './openapi/openapi.js';
import { serveDashboard } from './dashboard/serve-dashboard.js';
import { startReconciliation } from './reconciliation/start-reconciliation.js';
import { closeHttpApp } from './shared/close-http-app.js';
import { startTracing, tracesEndpointOf } from './tracing/tracing.js';
import { startPartitionRolling } from './partitions/start-partition-rolling.js';
import { assertEventStoreSupported } from './config/store-choice.js';
import { freePort } from './shared/free-port.js';
import { AdvisoryLeadership } from './leadership/advisory-leadership.js';
import { LedgerServerNats } from './nats/ledger-server-nats.js';
import type { Authenticator } from './identity/authenticator.js';
import type { ConnectionPrincipal } from './identity/connection-principal.js';
import { HttpInputGuard, queryParametersByRoute } from './shared/http-input-guard.js';
import { httpServerOptions } from './shared/http-server-options.js';
import { ensurePrivateDirectory } from './shared/private-directory.js';
import { AccessRefusals } from './identity/access-refusals.js';
import { LedgerServerTcp, tcpConnectionPrincipal, TcpServerState } from './tcp/index.js';
import { assertNoPlaintextExposure } from './transport-security/loopback-only.js';
import { natsConnectionOptions } from './transport-security/nats-credentials.js';
import { loadServerTls } from './transport-security/server-tls.js';

export interface RunningLedger {
  config: LedgerConfig;
  tcpPort: number;
  httpPort: number;
  databaseUrl: string;
  /** Every HTTP route the app registered (method and Fastify URL pattern, e.g. `/v1/approvals/:approvalId`). */
  httpRoutes: readonly HttpRoute[];
  /** What the guards call to turn a credential into a principal (API keys; JWTs when OIDC is configured). */
  authenticator: Authenticator;
  /** Issues, rotates, revokes and lists API keys. */
  apiKeyAdmin: ApiKeyAdmin;
  close(): Promise<void>;
}

/** Parts of the ledger a caller may supply (embedders; the TLS client certificate mapping). */
export interface LedgerWiring {
  /** The principal a connection proves by itself (TLS client certificates), for calls without a credential. */
  connectionPrincipal?: ConnectionPrincipal;
}

export interface HttpRoute {
  method: string;
  url: string;
}

/** Starts the whole ledger: database (embedded unless DATABASE_URL), event store, transports, HTTP. */
export async function startLedger(
  overrides: Partial<LedgerConfigInput> = {},
  wiring: LedgerWiring = {},
): Promise<RunningLedger> {
  const config = loadConfig(overrides);
  const logger = createLogger(config.logLevel);
  assertEventStoreSupported(config);
  assertSecretFilesPrivate(config.dataDir);
  // Before anything starts: no credentials in clear beyond this machine, key files private, TLS material readable.
  assertNoPlaintextExposure(config);
  const tls = loadServerTls(config);
  const nats = config.transport === 'nats' ? natsConnectionOptions(config) : undefined;
  const tracing = startTracing(tracesEndpointOf(config.otlpTracesEndpoint));
  const database = await resolveDatabase(config, logger).catch(async (error: unknown) => {
    await tracing.shutdown();
    throw error;
  });
  const cleanups: (() => Promise<void>)[] = [() => tracing.shutdown()];
  const closeAll = async () => {
    for (const cleanup of cleanups.reverse())
      await cleanup().catch((error) => logger.error({ err: error }, 'close failed'));
  };
  if (database.embedded) cleanups.push(() => database.embedded!.stop());
  try {
    // resolveDatabase applied the migrations with the admin connection; everything from here uses the runtime login.
    const metrics = new LedgerMetrics();
    const store = observeAppends(
      await PostgresEventStore.connect({
        connectionString: database.url,
        migrate: false,
        poolSize: config.dbPoolSize,
        logger,
      }),
      metrics,
    );
    cleanups.push(() => store.close());
    // Before anything is appended: a period that ended while no ledger ran gets its partition closed first.
    const partitions = await startPartitionRolling({
      enabled: config.partitionRoll,
      period: config.partitionPeriod,
      checkIntervalMs: config.partitionCheckIntervalMs,
      leaderRetryMs: config.leaderRetryMs,
      databaseUrl: database.url,
      adminUrl: database.adminUrl,
      logger,
      metrics,
    });
    cleanups.push(() => partitions.stop());
    // Before anything is appended or read: the data keys' table, the master key (generated on the first start).
    const payloads = await openPayloadKeys(database.url, config);
    cleanups.push(() => payloads.close());
    const readable = payloads.decrypting(store);
    if (config.checkpointsEnabled && !config.signingKey && !config.signingKeyFile) {
      const tightened = ensurePrivateDirectory(integrityKeysDir(config.dataDir));
      if (tightened) logger.warn({ keysDir: integrityKeysDir(config.dataDir) }, tightened);
    }
    // Before anything is appended: a database behind its witness refuses to start (docs/integrity.md §5).
    const keys = config.checkpointsEnabled
      ? resolveIntegrityKeys({
          signingKey: config.signingKey,
          signingKeyFile: config.signingKeyFile,
          verifyKeysDir: config.verifyKeysDir,
          dataDir: config.dataDir,
        })
      : undefined;
    if (keys?.generatedAt)
      logger.warn({ file: keys.generatedAt, keyId: keys.signing.keyId }, 'generated a checkpoint signing key');
    const witnesses = keys ? await startWitnesses(config, store, keys.signing, logger) : undefined;
    if (witnesses) cleanups.push(() => witnesses.stop());

    // Before any transport listens: the key table is built and the first start's keys exist.
    const oidc = oidcOptionsOf(config);
    const jwtAuthenticator = oidc ? new JwtAuthenticator(oidc) : undefined;
    const identity = await startIdentity({
      store,
      dataDir: config.dataDir,
      logger,
      ...(jwtAuthenticator ? { jwt: jwtAuthenticator } : {}),
    });
    cleanups.push(() => identity.stop());

    const monitor = new StoreMonitor(store, logger, (event) => metrics.observe(event));
    monitor.start();
    cleanups.push(() => monitor.stop());

    const reconciliation = await startReconciliation(config, readable, database.url, logger);
    cleanups.push(() => reconciliation.stop());

    const projections = config.projectionsEnabled
      ? await ProjectionRunner.start({
          store: readable,
          connectionString: database.url,
          projections: projectionsWithReconciliation(),
          logger,
          onParked: (notice) => reconciliation.alerts.publish(parkedEventAlert(notice)),
        })
      : undefined;
    if (projections) cleanups.push(() => projections.stop());
    // Next to the projections it trims after: one process at a time trims (advisory lock), the others skip
    const retention = projections
      ? new ReadModelRetention({
          connectionString: database.url,
          retentionDays: config.readModelRetentionDays,
          intervalMs: config.retentionIntervalMs,
          logger,
        })
      : undefined;
    retention?.start();
    if (retention) cleanups.push(() => retention.stop());

    if (keys) {
      // Checkpoint ranges end at partition bounds, so that an archived partition takes whole checkpoints with it.
      const partitionStarts = partitionStartsReader(database.url);
      cleanups.push(() => partitionStarts.close());
      // One process at a time seals (the checkpoints stream's expected revision keeps the chain unforked anyway).
      const sealing = new AdvisoryLeadership(
        { connectionString: database.url, name: 'checkpoint-sealer', logger, retryMs: config.leaderRetryMs },
        async () => {
          const sealer = new CheckpointSealer({
            store,
            databaseUrl: database.url,
            keys,
            partitionStarts: partitionStarts.read,
            logger,
            everyEvents: config.checkpointEveryEvents,
            everyMs: config.checkpointEveryMs,
            ...(witnesses ? { onSealed: () => witnesses.notify() } : {}),
          });
          sealer.start();
          return { stop: () => sealer.stop() };
        },
      );
      cleanups.push(() => sealing.stop());
      await sealing.start();
    }

    // A TLS client certificate mapped to a principal authenticates its connection's calls without a credential.
    const connectionPrincipal =
      wiring.connectionPrincipal ??
      (tls?.certificatePrincipalOf ? tcpConnectionPrincipal(tls.certificatePrincipalOf) : undefined);
    metrics.probe({
      projections: () => projections?.status(),
      head: () => monitor.head,
      alerts: () => reconciliation.alerts.status(),
      pool: () => store.poolUsage(),
    });
    const inputGuard = new HttpInputGuard();
    const adapter = new FastifyAdapter({
      ...httpServerOptions(config, tls?.http),
      clientErrorHandler: inputGuard.clientErrorHandler,
      genReqId,
    });
    adapter.getInstance().server.maxConnections = config.httpMaxConnections;
    inputGuard.install(adapter.getInstance());
    installHttpAccessLog(adapter.getInstance(), config.accessLog ? logger : undefined, metrics);
    const httpRoutes: HttpRoute[] = [];
    adapter.getInstance().addHook('onRoute', ({ method, url }) => {
      for (const one of [method].flat()) httpRoutes.push({ method: one, url });
    });
    const app = await NestFactory.create<NestFastifyApplication>(
      AppModule.register({
        config,
        store,
        storeHealth: () => store.health(),
        monitor,
        logger,
        tokenSecret: resolveTokenSecret(config.tokenHmacSecret, config.dataDir),
        alerts: reconciliation.alerts,
        sseAlerts: reconciliation.sseAlerts,
        reconciliationStatus: () => reconciliation.status(),
        ...(reconciliation.judge ? { judge: reconciliation.judge } : {}),
        projectionsStatus: () =>
          projections
            ? { ...projections.status(), ...(retention ? { retention: retention.status() } : {}) }
            : undefined,
        databaseUrl: database.url,
        readableStore: readable,
        payloadCipher: payloads.cipher,
        payloadErasure: payloads.erasure,
        witnessStatus: () => witnesses?.status() ?? [],
        partitionsStatus: partitions.status,
        authenticator: identity.authenticator,
        apiKeyAdmin: identity.admin,
        ...(jwtAuthenticator ? { jwtAuthenticator } : {}),
        ...(connectionPrincipal ? { connectionPrincipal } : {}),
        metrics,
      }),
      adapter,
      { logger: new PinoNestLogger(logger), abortOnError: false },
    );
    cleanups.push(() => closeHttpApp(app, config.httpDrainMs, logger));
    setupOpenApi(app);
    await serveDashboard(app, logger);
    inputGuard.knowQueryParameters(queryParametersByRoute(buildOpenApiDocument(app)));
    cleanups.push(() => reconciliation.sseAlerts.close()); // open event streams would hold the HTTP server open

    const tcpPort = config.tcpPort === 0 ? await freePort(config.tcpHost) : config.tcpPort;
    const tcpState = new TcpServerState({
      maxFrameBytes: config.tcpMaxFrameBytes,
      maxBufferedBytes: config.tcpMaxBufferedBytes,
      maxConnections: config.tcpMaxConnections,
      idleTimeoutMs: config.tcpIdleTimeoutMs,
      frameTimeoutMs: config.tcpFrameTimeoutMs,
    });
    app.connectMicroservice<MicroserviceOptions>(
      nats
        ? { strategy: new LedgerServerNats(nats, logger, config.natsQueue) }
        : {
            strategy: new LedgerServerTcp(
              { host: config.tcpHost, port: tcpPort, ...(tls ? { tls } : {}) },
              tcpState,
              logger,
            ),
          },
      { inheritAppConfig: true }, // the RPC handlers get the APP_FILTER that shapes errors
    );
    await app.startAllMicroservices();
    await app.listen({ port: config.httpPort, host: config.httpHost });
    const httpPort = (app.getHttpServer().address() as AddressInfo).port;
    metrics.probe({ refusals: () => app.get(AccessRefusals).counted() });
    const ready = startLine({
      config,
      tcpPort,
      httpUrl: `${tls ? 'https' : 'http'}://${config.httpHost}:${httpPort}`,
      embeddedPort: database.embedded ? config.embeddedPgPort : undefined,
    });
    logger.info(
      {
        transport: config.transport,
        tcp: `${config.tcpHost}:${tcpPort}`,
        http: ready.httpUrl,
        tls: tls ? { clientCert: tls.clientCert } : false,
        embedded: Boolean(database.embedded),
        dataDir: ready.dataDir,
        store: ready.store,
      },
      ready.line,
    );
    let closing: Promise<void> | undefined;
    const startedAt = Date.now();
    return {
      config,
      tcpPort,
      httpPort,
      databaseUrl: database.url,
      httpRoutes,
      authenticator: identity.authenticator,
      apiKeyAdmin: identity.admin,
      close: () =>
        (closing ??= closeAll().then(() =>
          logger.info({ uptimeSeconds: Math.round((Date.now() - startedAt) / 1000) }, 'audit-ledger stopped'),
        )),
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
