import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { MicroserviceOptions } from '@nestjs/microservices';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { AddressInfo } from 'node:net';
import { AppModule } from './app.module.js';
import { loadConfig, type LedgerConfig, type LedgerConfigInput } from './config/ledger.config.js';
import { openLedgerCore } from './core/ledger-core.js';
import type { ApiKeyAdmin } from './identity/api-key-admin.js';
import { assertSecretFilesPrivate } from './identity/secret-file-modes.js';
import { LedgerIdentity } from './identity/ledger-identity.js';
import { genReqId, installHttpAccessLog } from './logging/access-log.js';
import { createLogger, PinoNestLogger } from './logging/logger.js';
import { startLine } from './logging/start-line.js';
import { buildOpenApiDocument, setupOpenApi } from './openapi/openapi.js';
import { serveDashboard } from './dashboard/serve-dashboard.js';
import { startTracing, tracesEndpointOf } from './tracing/tracing.js';
import { assertEventStoreSupported } from './config/store-choice.js';
import { freePort } from './shared/free-port.js';
import { LedgerServerNats } from './nats/ledger-server-nats.js';
import type { Authenticator } from '@audit-ledger/api-keys';
import type { ConnectionPrincipal } from './identity/connection-principal.js';
import { HttpInputGuard, queryParametersByRoute } from './shared/http-input-guard.js';
import { httpServerOptions } from './shared/http-server-options.js';
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

/**
 * Starts the whole ledger: the core (database, embedded unless DATABASE_URL; event store; payload keys), then the
 * Nest app, whose feature modules start their workers when it initialises (docs/architecture.md, "Modules"), then
 * the transports. `close()` is `app.close()`: transports first, then the workers, then the core.
 */
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
  const stopTracing = () => tracing.shutdown().catch((error: unknown) => logger.error({ err: error }, 'close failed'));
  // A TLS client certificate mapped to a principal authenticates its connection's calls without a credential.
  const connectionPrincipal =
    wiring.connectionPrincipal ??
    (tls?.certificatePrincipalOf ? tcpConnectionPrincipal(tls.certificatePrincipalOf) : undefined);
  const core = await openLedgerCore(config, logger, connectionPrincipal).catch(async (error: unknown) => {
    await stopTracing();
    throw error;
  });

  const inputGuard = new HttpInputGuard();
  const adapter = new FastifyAdapter({
    ...httpServerOptions(config, tls?.http),
    clientErrorHandler: inputGuard.clientErrorHandler,
    genReqId,
  });
  adapter.getInstance().server.maxConnections = config.httpMaxConnections;
  inputGuard.install(adapter.getInstance());
  installHttpAccessLog(adapter.getInstance(), config.accessLog ? logger : undefined, core.metrics);
  const httpRoutes: HttpRoute[] = [];
  adapter.getInstance().addHook('onRoute', ({ method, url }) => {
    for (const one of [method].flat()) httpRoutes.push({ method: one, url });
  });
  let app: NestFastifyApplication;
  try {
    app = await NestFactory.create<NestFastifyApplication>(AppModule.register(core), adapter, {
      logger: new PinoNestLogger(logger),
      abortOnError: false,
    });
  } catch (error) {
    await core.close();
    await stopTracing();
    throw error;
  }
  const closeApp = () =>
    app
      .close()
      .catch((error: unknown) => logger.error({ err: error }, 'close failed'))
      .then(stopTracing);
  try {
    setupOpenApi(app);
    await serveDashboard(app, logger);
    inputGuard.knowQueryParameters(queryParametersByRoute(buildOpenApiDocument(app)));
    // The feature modules' workers start here, in the order of docs/architecture.md ("Modules"): before any
    // transport listens.
    await app.init();

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
    const ready = startLine({
      config,
      tcpPort,
      httpUrl: `${tls ? 'https' : 'http'}://${config.httpHost}:${httpPort}`,
      embeddedPort: core.database.embedded ? config.embeddedPgPort : undefined,
    });
    logger.info(
      {
        transport: config.transport,
        tcp: `${config.tcpHost}:${tcpPort}`,
        http: ready.httpUrl,
        tls: tls ? { clientCert: tls.clientCert } : false,
        embedded: Boolean(core.database.embedded),
        dataDir: ready.dataDir,
        store: ready.store,
      },
      ready.line,
    );
    const identity = app.get(LedgerIdentity);
    let closing: Promise<void> | undefined;
    const startedAt = Date.now();
    return {
      config,
      tcpPort,
      httpPort,
      databaseUrl: core.database.url,
      httpRoutes,
      authenticator: identity,
      apiKeyAdmin: identity.admin,
      close: () =>
        (closing ??= closeApp().then(() =>
          logger.info({ uptimeSeconds: Math.round((Date.now() - startedAt) / 1000) }, 'audit-ledger stopped'),
        )),
    };
  } catch (error) {
    // Nest runs every shutdown hook after a failed start too: what the partial start opened is closed.
    await closeApp();
    throw error;
  }
}
