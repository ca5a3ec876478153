import type { Logger } from 'pino';
import { AdvisoryLeadership } from '../leadership/advisory-leadership.js';
import type { LedgerMetrics } from '../metrics/ledger-metrics.js';
import type { PartitionPeriod } from './partition-period.js';
import { registerPartitionRollMetrics } from './partition-roll-metrics.js';
import { PartitionRoller } from './partition-roller.js';
import type { PartitionsStatusProbe } from './partitions-status.js';

export interface PartitionRolling {
  /** For `/health` (`partitions`): `{ enabled: false }` when switched off. */
  status: PartitionsStatusProbe;
  stop(): Promise<void>;
}

/**
 * The events table's partitions rolled by the running ledger (LEDGER_PARTITION_ROLL, on by default): every process
 * watches, the one holding the `partition-roller` lock rolls. Resolves after the first check, so a ledger started
 * after a period ended has closed that period's partition before it serves.
 */
export async function startPartitionRolling(options: {
  enabled: boolean;
  /** The runtime login (the leadership lock). */
  databaseUrl: string;
  /** The migrations' login: the roll is DDL on ledger.events. */
  adminUrl: string;
  period: PartitionPeriod;
  checkIntervalMs: number;
  leaderRetryMs: number;
  logger: Logger;
  metrics: LedgerMetrics;
}): Promise<PartitionRolling> {
  if (!options.enabled) return { status: () => ({ enabled: false }), stop: async () => undefined };
  const roller = new PartitionRoller({
    databaseUrl: options.adminUrl,
    period: options.period,
    checkIntervalMs: options.checkIntervalMs,
    logger: options.logger,
  });
  const leadership = new AdvisoryLeadership(
    {
      connectionString: options.databaseUrl,
      name: 'partition-roller',
      logger: options.logger,
      retryMs: options.leaderRetryMs,
    },
    async () => {
      await roller.setRolling(true);
      return { stop: () => roller.setRolling(false) };
    },
  );
  await leadership.start();
  await roller.start();
  registerPartitionRollMetrics(options.metrics.registry, () => roller.status());
  return {
    status: () => ({ ...roller.status(), leadership: leadership.status() }),
    stop: async () => {
      await leadership.stop();
      await roller.stop();
    },
  };
}
