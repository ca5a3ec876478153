import type { EventStore } from '@audit-ledger/event-store';
import {
  Inject,
  Injectable,
  Optional,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import type { Logger } from 'pino';
import { partitionStartsReader } from '@audit-ledger/archive';
import type { LedgerConfig } from '../config/ledger.config.js';
import { AdvisoryLeadership } from '../leadership/advisory-leadership.js';
import { ensurePrivateDirectory } from '../shared/private-directory.js';
import { DATABASE_URL, EVENT_STORE, LEDGER_CONFIG, LOGGER } from '../shared/tokens.js';
import { CheckpointSealer, integrityKeysDir, resolveIntegrityKeys, type IntegrityKeys } from '@audit-ledger/evidence';
import { startWitnesses, type RunningWitnesses } from './start-witnesses.js';
import type { WitnessStatus } from '@audit-ledger/evidence';

export const INTEGRITY_KEYS = Symbol('INTEGRITY_KEYS');

/** The checkpoint signing and verifying keys when checkpoints are on (generated on the first start); else null. */
export function integrityKeysOf(config: LedgerConfig, logger: Logger): IntegrityKeys | null {
  if (!config.checkpointsEnabled) return null;
  if (!config.signingKey && !config.signingKeyFile) {
    const tightened = ensurePrivateDirectory(integrityKeysDir(config.dataDir));
    if (tightened) logger.warn({ keysDir: integrityKeysDir(config.dataDir) }, tightened);
  }
  const keys = resolveIntegrityKeys({
    signingKey: config.signingKey,
    signingKeyFile: config.signingKeyFile,
    verifyKeysDir: config.verifyKeysDir,
    dataDir: config.dataDir,
  });
  if (keys.generatedAt)
    logger.warn({ file: keys.generatedAt, keyId: keys.signing.keyId }, 'generated a checkpoint signing key');
  return keys;
}

/**
 * The configured witnesses. Checked when the modules initialise, before any worker starts: a database behind its
 * witness refuses to start before anything is appended (docs/integrity.md §5).
 */
@Injectable()
export class WitnessesWorker implements OnModuleInit, OnApplicationShutdown {
  private running?: RunningWitnesses;

  constructor(
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(LOGGER) private readonly logger: Logger,
    @Optional() @Inject(INTEGRITY_KEYS) private readonly keys: IntegrityKeys | null,
  ) {}

  async onModuleInit(): Promise<void> {
    if (this.keys) this.running = await startWitnesses(this.config, this.store, this.keys.signing, this.logger);
  }

  /** A checkpoint was sealed: deliver it to every witness (in the background). */
  notify(): void {
    this.running?.notify();
  }

  get configured(): boolean {
    return this.running !== undefined;
  }

  status(): WitnessStatus[] {
    return this.running?.status() ?? [];
  }

  async onApplicationShutdown(): Promise<void> {
    await this.running?.stop();
  }
}

/** Seals checkpoints when they are on; one process at a time seals (the others stand by). */
@Injectable()
export class CheckpointSealerWorker implements OnApplicationBootstrap, OnApplicationShutdown {
  private stops: (() => Promise<void>)[] = [];

  constructor(
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(DATABASE_URL) private readonly databaseUrl: string,
    @Inject(LOGGER) private readonly logger: Logger,
    @Optional() @Inject(INTEGRITY_KEYS) private readonly keys: IntegrityKeys | null,
    @Inject(WitnessesWorker) private readonly witnesses: WitnessesWorker,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const keys = this.keys;
    if (!keys) return;
    const { config, logger, databaseUrl } = this;
    // Checkpoint ranges end at partition bounds, so that an archived partition takes whole checkpoints with it.
    const partitionStarts = partitionStartsReader(databaseUrl);
    this.stops.push(() => partitionStarts.close());
    // One process at a time seals (the checkpoints stream's expected revision keeps the chain unforked anyway).
    const sealing = new AdvisoryLeadership(
      { connectionString: databaseUrl, name: 'checkpoint-sealer', logger, retryMs: config.leaderRetryMs },
      async () => {
        const sealer = new CheckpointSealer({
          store: this.store,
          databaseUrl,
          keys,
          partitionStarts: partitionStarts.read,
          logger,
          everyEvents: config.checkpointEveryEvents,
          everyMs: config.checkpointEveryMs,
          ...(this.witnesses.configured ? { onSealed: () => this.witnesses.notify() } : {}),
        });
        sealer.start();
        return { stop: () => sealer.stop() };
      },
    );
    this.stops.push(() => sealing.stop());
    await sealing.start();
  }

  /** Gives up sealing, then closes the partition reader. */
  async onApplicationShutdown(): Promise<void> {
    for (const stop of this.stops.splice(0).reverse()) await stop();
  }
}
