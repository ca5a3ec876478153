import type { Principal } from '@audit-ledger/domain';
import type { EventStore } from '@audit-ledger/event-store';
import { Inject, Injectable, Optional, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'pino';
import type { LedgerConfig } from '../config/ledger.config.js';
import { EVENT_STORE, LEDGER_CONFIG, LOGGER } from '../shared/tokens.js';
import type { ApiKeyAdmin } from './api-key-admin.js';
import type { Authenticator } from '@audit-ledger/api-keys';
import { JWT_AUTHENTICATOR, type JwtAuthenticator } from './jwt/index.js';
import { startIdentity, type RunningIdentity } from './start-identity.js';

/**
 * This process's API keys: the key table built from the `principals` stream (following it), the first start's keys
 * (`credentials` file), and the authenticator the guards call. Started with the app, before any transport listens.
 */
@Injectable()
export class LedgerIdentity implements Authenticator, OnApplicationBootstrap, OnApplicationShutdown {
  private running?: RunningIdentity;

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Optional() @Inject(JWT_AUTHENTICATOR) private readonly jwt: JwtAuthenticator | null,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.running = await startIdentity({
      store: this.store,
      dataDir: this.config.dataDir,
      logger: this.logger,
      ...(this.jwt ? { jwt: this.jwt } : {}),
    });
  }

  /** API keys, and JWTs when OIDC is configured. */
  authenticate(credential: string): Promise<Principal> {
    return this.started.authenticator.authenticate(credential);
  }

  /** Issues, rotates, revokes and lists API keys (the `principals` stream). */
  get admin(): ApiKeyAdmin {
    return this.started.admin;
  }

  private get started(): RunningIdentity {
    if (!this.running) throw new Error('the identity is not started yet');
    return this.running;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.running?.stop();
  }
}
