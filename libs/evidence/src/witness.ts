import type { RollbackAcknowledgement, SealedCheckpoint, WitnessHead, WitnessRecord } from '@audit-ledger/integrity';

/** What a witness holds: its head (where the next checkpoint must chain on; null when empty) and its last record. */
export interface WitnessState {
  head: WitnessHead | null;
  last: WitnessRecord | null;
}

/** A place outside the database that keeps the checkpoints (docs/integrity.md §5): a file or an HTTP endpoint. */
export interface Witness {
  readonly kind: 'file' | 'http';
  /** The file, or the endpoint's base URL. */
  readonly target: string;
  latest(): Promise<WitnessState>;
  /** Rejects with WitnessRefusedError when the witness refuses (the checkpoint does not chain on its head). */
  append(checkpoint: SealedCheckpoint): Promise<void>;
  acknowledgeRollback(ack: RollbackAcknowledgement): Promise<void>;
  /** Ends requests in flight (on stop). */
  close?(): void;
}

/** The witness answered and refused: retrying the same request will not help. */
export class WitnessRefusedError extends Error {
  readonly code = 'INTEGRITY.WITNESS_REFUSED';
}
