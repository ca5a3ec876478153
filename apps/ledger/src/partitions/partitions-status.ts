import type { LeadershipStatus } from '../leadership/advisory-leadership.js';
import type { PartitionRollStatus } from './partition-roller.js';

/** `/health`'s `partitions`: the rolling's status, or `{ enabled: false }` (LEDGER_PARTITION_ROLL=false). */
export type PartitionsStatus = (PartitionRollStatus & { leadership: LeadershipStatus }) | { enabled: false };
export type PartitionsStatusProbe = () => PartitionsStatus;
