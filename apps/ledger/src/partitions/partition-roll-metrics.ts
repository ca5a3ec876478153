import { Gauge, type Registry } from 'prom-client';
import type { PartitionRollStatus } from './partition-roller.js';

/** The partition rolling's gauges, read from its status at each scrape. */
export function registerPartitionRollMetrics(registry: Registry, status: () => PartitionRollStatus): void {
  new Gauge({
    name: 'ledger_event_partitions_attached',
    help: 'Partitions attached to ledger.events (closed ones not dropped yet, and the open one)',
    registers: [registry],
    collect() {
      this.set(status().attachedPartitions);
    },
  });
  new Gauge({
    name: 'ledger_event_partition_last_roll_timestamp_seconds',
    help: 'When a partition of ledger.events was last closed (0: never)',
    registers: [registry],
    collect() {
      const at = status().lastRollAt;
      this.set(at ? Date.parse(at) / 1000 : 0);
    },
  });
  new Gauge({
    name: 'ledger_event_partition_roll_overdue',
    help: '1 when the open partition holds events of an earlier period and was not rolled (see /health partitions)',
    registers: [registry],
    collect() {
      this.set(status().overdue ? 1 : 0);
    },
  });
}
