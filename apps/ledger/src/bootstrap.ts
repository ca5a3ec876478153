import 'reflect-metadata';
import { PostgresEventStore } from '@audit-ledger/event-store';
import { ProjectionRunner, projectionsWithReconciliation } from '@audit-ledger/read-models';
import { NestFactory } from '@nestjs/core';
import { Transport, type MicroserviceOptions } from '@nestjs/microservices';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { AddressInfo } from 'node:net';
import { AppModule } from './app.module.js';
import { loadConfig, type LedgerConfig, type LedgerConfigInput } from './config/ledger.config.js';
import { resolveTokenSecret } from './config/token-secret.js';
import { resolveDatabase } from './database/database-url.js';
import { StoreMonitor } from './health/store-monitor.service.js';
import { CheckpointSealer, resolveIntegrityKeys } from './integrity/index.js';
import { createLogger, PinoNestLogger } from './logging/logger.js';
import { buildOpenApiDocument, setupOpenApi } from './openapi/openapi.js';
import { startReconciliation } from './reconciliation/start-reconciliation.js';
import { closeHttpApp } from './shared/close-http-app.js';
import { freePort } from './shared/free-port.js';
import { HttpInputGuard, queryParametersByRoute } from './shared/http-input-guard.js';
import { NoDelayJsonSocket } from './shared/no-delay-json-socket.js';

export interface RunningLedger {
  config: LedgerConfig;
  tcpPort: number;
  httpPort: number;
  databaseUrl: string;
  /** Every HTTP route the app registered (method and Fastify URL pattern, e.g. `/v1/approvals/:approvalId`). */
  httpRoutes: readonly HttpRoute[];
  close(): Promise<void>;
}

export interface HttpRoute {
  method: string;
  url: string;
}

/** Raw outputs up to 16 MiB are accepted (and capped when stored); JSON escaping can double that. */
const HTTP_BODY_LIMIT = 40 * 1024 * 1024;

/** Starts the whole ledger: database (embedded unless DATABASE_URL), event store, transports, HTTP. */
export async function startLedger(overrides: Partial<LedgerConfigInput> = {}): Promise<RunningLedger> {
  const config = loadConfig(overrides);
  const logger = createLogger(config.logLevel);
  const database = await resolveDatabase(config, logger);
  const cleanups: (() => Promise<void>)[] = [];
  const closeAll = async () => {
    for (const cleanup of cleanups.reverse())
      await cleanup().catch((error) => logger.error({ err: error }, 'close failed'));
  };
  if (database.embedded) cleanups.push(() => database.embedded!.stop());
  try {
    const store = await PostgresEventStore.connect({
      connectionString: database.url,
      poolSize: config.dbPoolSize,
      logger,
    });
    cleanups.push(() => store.close());
    const monitor = new StoreMonitor(store, logger);
    monitor.start();
    cleanups.push(() => monitor.stop());

    const reconciliation = await startReconciliation(config, store, database.url, logger);
    cleanups.push(() => reconciliation.stop());

    const projections = config.projectionsEnabled
      ? await ProjectionRunner.start({
          store,
          connectionString: database.url,
          projections: projectionsWithReconciliation(),
          logger,
        })
      : undefined;
    if (projections) cleanups.push(() => projections.stop());

    if (config.checkpointsEnabled) {
      const keys = resolveIntegrityKeys({
        signingKey: config.signingKey,
        signingKeyFile: config.signingKeyFile,
        verifyKeysDir: config.verifyKeysDir,
        dataDir: config.dataDir,
      });
      if (keys.generatedAt)
        logger.warn({ file: keys.generatedAt, keyId: keys.signing.keyId }, 'generated a checkpoint signing key');
      const sealer = new CheckpointSealer({
        store,
        databaseUrl: database.url,
        keys,
        logger,
        everyEvents: config.checkpointEveryEvents,
        everyMs: config.checkpointEveryMs,
        witnessFile: config.witnessFile,
      });
      sealer.start();
      cleanups.push(() => sealer.stop());
    }

    const inputGuard = new HttpInputGuard();
    const adapter = new FastifyAdapter({
      bodyLimit: HTTP_BODY_LIMIT,
      clientErrorHandler: inputGuard.clientErrorHandler,
    });
    inputGuard.install(adapter.getInstance());
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
        projectionsStatus: () => projections?.status(),
        databaseUrl: database.url,
      }),
      adapter,
      { logger: new PinoNestLogger(logger), abortOnError: false },
    );
    cleanups.push(() => closeHttpApp(app, config.httpDrainMs, logger));
    setupOpenApi(app);
    inputGuard.knowQueryParameters(queryParametersByRoute(buildOpenApiDocument(app)));
    cleanups.push(() => reconciliation.sseAlerts.close()); // open event streams would hold the HTTP server open

    const tcpPort = config.tcpPort === 0 ? await freePort(config.tcpHost) : config.tcpPort;
    app.connectMicroservice<MicroserviceOptions>(
      config.transport === 'nats'
        ? { transport: Transport.NATS, options: { servers: [config.natsUrl] } }
        : {
            transport: Transport.TCP,
            options: { host: config.tcpHost, port: tcpPort, socketClass: NoDelayJsonSocket },
          },
      { inheritAppConfig: true }, // the RPC handlers get the APP_FILTER that shapes errors
    );
    await app.startAllMicroservices();
    await app.listen({ port: config.httpPort, host: config.httpHost });
    const httpPort = (app.getHttpServer().address() as AddressInfo).port;
    logger.info(
      {
        transport: config.transport,
        tcp: `${config.tcpHost}:${tcpPort}`,
        http: `${config.httpHost}:${httpPort}`,
        embedded: Boolean(database.embedded),
      },
      'audit-ledger is ready',
    );
    let closing: Promise<void> | undefined;
    return {
      config,
      tcpPort,
      httpPort,
      databaseUrl: database.url,
      httpRoutes,
      close: () => (closing ??= closeAll()),
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
