import type { EventStore } from '@audit-ledger/event-store';
import type { SigningKey } from '@audit-ledger/integrity';
import { userInfo } from 'node:os';
import type { LedgerConfig } from '../config/ledger.config.js';
import {
  type SealerLogger,
  HttpWitness,
  type Witness,
  FileWitness,
  WitnessPublisher,
  type WitnessStatus,
  checkWitnessesAtStart,
} from '@audit-ledger/evidence';

export interface RunningWitnesses {
  /** A checkpoint was sealed: deliver it to every witness (in the background). */
  notify(): void;
  status(): WitnessStatus[];
  stop(): Promise<void>;
}

/** The configured witnesses (LEDGER_WITNESS_FILE, LEDGER_WITNESS_URL); an empty list when none. */
function configuredWitnesses(config: LedgerConfig): Witness[] {
  const witnesses: Witness[] = [];
  if (config.witnessFile) witnesses.push(new FileWitness(config.witnessFile));
  if (config.witnessUrl) witnesses.push(new HttpWitness(config.witnessUrl, config.witnessToken));
  return witnesses;
}

/**
 * Compares the database with every witness (refusing to start when it is behind one, unless acknowledged), then
 * starts one publisher per witness and lets it catch up with the checkpoints the witness lacks.
 */
export async function startWitnesses(
  config: LedgerConfig,
  store: EventStore,
  signing: SigningKey,
  logger: SealerLogger,
): Promise<RunningWitnesses | undefined> {
  const witnesses = configuredWitnesses(config);
  if (witnesses.length === 0) {
    if (config.acknowledgeRollback) logger.warn({}, 'LEDGER_ACKNOWLEDGE_ROLLBACK is set but no witness is configured');
    return undefined;
  }
  await checkWitnessesAtStart({
    store,
    witnesses,
    signing,
    acknowledgeRollback: config.acknowledgeRollback,
    actor: process.env.LEDGER_ACTOR ?? operatorName(),
    logger,
  });
  const publishers = witnesses.map(
    (witness) => new WitnessPublisher({ store, witness, logger, backoffMs: config.witnessBackoffMs }),
  );
  for (const publisher of publishers) publisher.notify();
  return {
    notify: () => publishers.forEach((publisher) => publisher.notify()),
    status: () => publishers.map((publisher) => publisher.status()),
    stop: async () => {
      await Promise.all(publishers.map((publisher) => publisher.stop()));
    },
  };
}

function operatorName(): string {
  try {
    return `operator:${userInfo().username}`;
  } catch {
    return 'operator:unknown';
  }
}
