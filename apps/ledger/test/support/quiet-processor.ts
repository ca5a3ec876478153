import { AlertDispatcher } from '@audit-ledger/alerts';
import type { EventStore } from '@audit-ledger/event-store';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { pino } from 'pino';
import { ProcessCheckpoints } from '../../src/reconciliation/process-checkpoints.js';
import { ReconciliationProcessor } from '../../src/reconciliation/reconciliation.processor.js';

/** A reconciliation processor on `store` that logs nothing, sends no alert and checks for unused approvals rarely. */
export function quietProcessor(store: EventStore, pool: pg.Pool): ReconciliationProcessor {
  const logger = pino({ level: 'silent' });
  const alerts = new AlertDispatcher(
    [],
    { maxAttempts: 1, backoffMs: 1, deadLetterFile: join(tmpdir(), `dead-${randomUUID()}.jsonl`) },
    logger,
  );
  return new ReconciliationProcessor(store, new ProcessCheckpoints(pool), alerts, { now: () => new Date() }, logger, {
    unusedIntervalMs: 60_000,
    alertOnUnclear: false,
  });
}
