import type { LeadershipStatus } from '../leadership/advisory-leadership.js';
import type { PartitionRollStatus } from './partition-roller.js';

/** `/health`'s `partitions`: the rolling's status, or `{ enabled: false }` (LEDGER_PARTITION_ROLL=false). */
export const PARTITIONS_STATUS = Symbol('PARTITIONS_STATUS');
export type PartitionsStatusProbe = () => (PartitionRollStatus & { leadership: LeadershipStatus }) | { enabled: false };
