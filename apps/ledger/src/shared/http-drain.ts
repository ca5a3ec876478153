import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationShutdown } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import type { LedgerConfig } from '../config/ledger.config.js';
import { LEDGER_CONFIG, LOGGER } from './tokens.js';

/**
 * When the app closes, in-flight HTTP requests may finish for up to `httpDrainMs`; then the connections still open
 * (a client that stopped reading a response, a half-sent request) are cut, so a stop never waits on a client. Armed
 * before the transports close, cleared once they are (the root module's shutdown hook runs first).
 */
@Injectable()
export class HttpDrain implements BeforeApplicationShutdown, OnApplicationShutdown {
  private deadline?: NodeJS.Timeout;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  beforeApplicationShutdown(): void {
    const server = this.adapterHost.httpAdapter.getHttpServer() as Server;
    const drainMs = this.config.httpDrainMs;
    this.deadline = setTimeout(() => {
      this.logger.warn({ drainMs }, 'HTTP clients still connected after the drain time; closing their connections');
      server.closeAllConnections();
    }, drainMs);
    this.deadline.unref();
  }

  onApplicationShutdown(): void {
    clearTimeout(this.deadline);
  }
}
