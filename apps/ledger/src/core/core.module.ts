import { Global, Inject, Injectable, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { resolveTokenSecret } from '../config/token-secret.js';
import { STORE_HEALTH } from '../health/health.controller.js';
import { CONNECTION_PRINCIPAL } from '../identity/connection-principal.js';
import { LedgerMetrics } from '../metrics/ledger-metrics.js';
import { ledgerRedactor } from '../redaction/ledger-redactor.js';
import {
  CLOCK,
  ADMIN_DATABASE_URL,
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
} from '../shared/tokens.js';
import type { LedgerCore } from './ledger-core.js';

const LEDGER_CORE = Symbol('LEDGER_CORE');

/**
 * Closes the core when the app closes. The module is global, so Nest calls its shutdown hook after every feature
 * module's: the payload keys, the store and the embedded PostgreSQL go last.
 */
@Injectable()
class CoreShutdown implements OnApplicationShutdown {
  constructor(@Inject(LEDGER_CORE) private readonly core: LedgerCore) {}

  async onApplicationShutdown(): Promise<void> {
    await this.core.close();
  }
}

/** The cross-cutting tokens every feature module may inject: config, logger, clock, store, metrics, keys. */
@Global()
@Module({})
export class CoreModule {
  static forRoot(core: LedgerCore): DynamicModule {
    const tokenSecret = resolveTokenSecret(core.config.tokenHmacSecret, core.config.dataDir);
    const exported = [
      LEDGER_CONFIG,
      LOGGER,
      CLOCK,
      DATABASE_URL,
      ADMIN_DATABASE_URL,
      EVENT_STORE,
      READABLE_EVENT_STORE,
      STORE_HEALTH,
      PAYLOAD_CIPHER,
      PAYLOAD_ERASURE,
      TOKEN_SECRET,
      REDACTOR,
      CONNECTION_PRINCIPAL,
      LedgerMetrics,
    ];
    return {
      module: CoreModule,
      providers: [
        { provide: LEDGER_CORE, useValue: core },
        CoreShutdown,
        { provide: LEDGER_CONFIG, useValue: core.config },
        { provide: LOGGER, useValue: core.logger },
        { provide: CLOCK, useValue: systemClock },
        { provide: DATABASE_URL, useValue: core.database.url },
        { provide: ADMIN_DATABASE_URL, useValue: core.database.adminUrl },
        { provide: EVENT_STORE, useValue: core.store },
        { provide: READABLE_EVENT_STORE, useValue: core.readableStore },
        { provide: STORE_HEALTH, useValue: () => core.store.health() },
        { provide: PAYLOAD_CIPHER, useValue: core.payloads.cipher },
        { provide: PAYLOAD_ERASURE, useValue: core.payloads.erasure },
        { provide: TOKEN_SECRET, useValue: tokenSecret },
        { provide: REDACTOR, useValue: ledgerRedactor(core.config, tokenSecret) },
        { provide: CONNECTION_PRINCIPAL, useValue: core.connectionPrincipal ?? null },
        { provide: LedgerMetrics, useValue: core.metrics },
      ],
      exports: exported,
    };
  }
}
