import { publicKeyRing } from '@audit-ledger/integrity';
import type { EventStore } from '@audit-ledger/event-store';
import { Inject, Injectable, Optional } from '@nestjs/common';
import { LedgerMetrics } from '../metrics/ledger-metrics.js';
import type { LedgerConfig } from '../config/ledger.config.js';
import { CLOCK, DATABASE_URL, EVENT_STORE, LEDGER_CONFIG, type Clock } from '../shared/tokens.js';
import {
  lastCheckpoint,
  publicKeysOf,
  type StoredCheckpoint,
  verifyLedger,
  type IntegrityFinding,
} from '@audit-ledger/evidence';

/** What `GET /v1/integrity` reports about the last checkpoint (docs/integrity.md §11). */
export interface CheckpointVerification {
  /** verified: no problem found; failed: problems found (the first by position is `firstProblem`); error: could not run. */
  status: 'verified' | 'failed' | 'error';
  /** The checkpoint verified (its `checkpointHash`) and its range. */
  checkpointHash: string;
  fromPosition: string;
  toPosition: string;
  verifiedAt: string;
  eventsChecked: number;
  firstProblem: IntegrityFinding | null;
  problems: IntegrityFinding[];
  /** For `error`: why the verification could not run. */
  error?: string;
}

/**
 * Re-verifies the last checkpoint, as `ledger verify --from F --to T` over its range: every checkpoint's hash,
 * signature and chain, and in the range every event's hash recomputed from its content, the hash links (to the events
 * before the range too), the positions present and absent, the count and the Merkle root. The result is kept until
 * a newer checkpoint appears (an error is not kept: the next request tries again); concurrent requests share one run.
 */
@Injectable()
export class LastCheckpointVerification {
  private cached: { checkpointHash: string; result: Promise<CheckpointVerification> } | undefined;

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
    @Inject(DATABASE_URL) private readonly databaseUrl: string,
    @Inject(CLOCK) private readonly clock: Clock,
    @Optional() private readonly metrics?: LedgerMetrics,
  ) {}

  /** The last checkpoint and its verification; null when none was sealed. */
  async current(): Promise<{ last: StoredCheckpoint; verification: CheckpointVerification } | null> {
    const last = await lastCheckpoint(this.store);
    if (!last) return null;
    const { checkpointHash } = last.checkpoint;
    if (this.cached?.checkpointHash !== checkpointHash) {
      const result = this.verify(last);
      this.cached = { checkpointHash, result };
      void result.then((verification) => {
        this.metrics?.verificationRun(verification.status === 'verified' ? 'ok' : verification.status);
        if (verification.status === 'error' && this.cached?.result === result) this.cached = undefined;
      });
    }
    return { last, verification: await this.cached.result };
  }

  private async verify({ checkpoint }: StoredCheckpoint): Promise<CheckpointVerification> {
    const base = {
      checkpointHash: checkpoint.checkpointHash,
      fromPosition: checkpoint.fromPosition,
      toPosition: checkpoint.toPosition,
    };
    try {
      const report = await verifyLedger({
        databaseUrl: this.databaseUrl,
        keys: publicKeyRing(publicKeysOf(this.config)),
        from: BigInt(checkpoint.fromPosition),
        to: BigInt(checkpoint.toPosition),
        maxFindings: 10,
      });
      return {
        status: report.ok ? 'verified' : 'failed',
        ...base,
        verifiedAt: this.clock.now().toISOString(),
        eventsChecked: report.eventsChecked,
        firstProblem: report.firstProblem,
        problems: report.problems,
      };
    } catch (error) {
      return {
        status: 'error',
        ...base,
        verifiedAt: this.clock.now().toISOString(),
        eventsChecked: 0,
        firstProblem: null,
        problems: [],
        error: (error as Error).message,
      };
    }
  }
}
