import type { RecordedEvent } from '@audit-ledger/event-store';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { processMetrics } from './process-metrics.js';

/** What the metrics read on each scrape (the workers' own status; a probe that is absent reports nothing). */
export interface MetricsProbes {
  projections?: () =>
    { projections: readonly { name: string; position: string; state: string; parked: number }[] } | undefined;
  /** The store's head (the live subscription's position): a projection's lag is the head minus its position. */
  head?: () => bigint;
  alerts?: () => { delivered: number; retried: number; deadLettered: number; queued: number };
  pool?: () => { total: number; idle: number; waiting: number } | undefined;
  refusals?: () => Record<string, Partial<Record<string, number>>>;
}

export type Transport = 'http' | 'tcp' | 'nats';

/** Executions remembered to time their verdict; older ones are forgotten first. */
const PENDING_EXECUTIONS = 10_000;

/**
 * Every Prometheus series of the ledger in one registry (prom-client). Instruments are recorded by small hooks at the
 * edges (the store's append, the request interceptor, the event monitor); worker state is read at scrape time.
 */
export class LedgerMetrics {
  readonly registry = new Registry();
  private readonly appends = new Counter({
    name: 'ledger_appends_total',
    help: 'Appends to the event store, by outcome (appended, replay: idempotent retry, failed)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  private readonly appendedEvents = new Counter({
    name: 'ledger_appended_events_total',
    help: 'Events appended to the event store',
    registers: [this.registry],
  });
  private readonly appendSeconds = new Histogram({
    name: 'ledger_append_duration_seconds',
    help: 'Time from an append call to its durable acknowledgement',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  private readonly appendBatch = new Histogram({
    name: 'ledger_append_batch_events',
    help: 'Events per append call',
    buckets: [1, 2, 5, 10, 20, 50, 100, 500],
    registers: [this.registry],
  });
  private readonly acks = new Counter({
    name: 'ledger_command_acks_total',
    help: 'Commands and requests answered successfully, by transport',
    labelNames: ['transport'] as const,
    registers: [this.registry],
  });
  private readonly refusals = new Counter({
    name: 'ledger_refusals_total',
    help: 'Calls refused, by kind (validation, auth, conflict, unavailable, internal), code and transport',
    labelNames: ['kind', 'code', 'transport'] as const,
    registers: [this.registry],
  });
  private readonly verdicts = new Counter({
    name: 'ledger_reconciliation_verdicts_total',
    help: 'Reconciliation verdicts recorded, by verdict (match, mismatch, unclear) and mismatch kind',
    labelNames: ['verdict', 'kind'] as const,
    registers: [this.registry],
  });
  private readonly verdictSeconds = new Histogram({
    name: 'ledger_reconciliation_verdict_latency_seconds',
    help: 'Time from an ExecutionLogged being recorded to its verdict being recorded',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [this.registry],
  });
  private readonly seals = new Counter({
    name: 'ledger_checkpoint_seals_total',
    help: 'Signed Merkle checkpoints sealed (CheckpointSealed events seen)',
    registers: [this.registry],
  });
  private readonly verifications = new Counter({
    name: 'ledger_verification_runs_total',
    help: 'Integrity verification runs in this process, by result (ok, failed, error)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  private readonly pendingExecutions = new Map<string, number>();
  /** Events recorded before this process started are history, not work it saw: the counters start at zero. */
  private readonly since = Date.now();

  private readonly probes: MetricsProbes = {};

  constructor() {
    const registers = [this.registry];
    const probes = this.probes;
    const projections = () => probes.projections?.();
    const head = () => probes.head?.();
    const alerts = () => probes.alerts?.();
    const pool = () => probes.pool?.();
    const refusals = () => probes.refusals?.();
    new Gauge({
      name: 'ledger_projection_position',
      help: 'Last global position a projection committed (its checkpoint)',
      labelNames: ['projection'] as const,
      registers,
      collect() {
        this.reset();
        for (const p of projections()?.projections ?? []) this.set({ projection: p.name }, Number(p.position));
      },
    });
    new Gauge({
      name: 'ledger_projection_lag_events',
      help: "Global positions between the store's head and a projection's checkpoint",
      labelNames: ['projection'] as const,
      registers,
      collect() {
        this.reset();
        const top = head();
        if (top === undefined) return;
        for (const p of projections()?.projections ?? []) {
          const lag = top - BigInt(p.position);
          this.set({ projection: p.name }, Number(lag > 0n ? lag : 0n));
        }
      },
    });
    new Gauge({
      name: 'ledger_projection_errors',
      help: 'Per projection: 1 while failed or reconnecting, else 0; parked events are in ledger_projection_parked_events',
      labelNames: ['projection'] as const,
      registers,
      collect() {
        this.reset();
        for (const p of projections()?.projections ?? []) {
          this.set({ projection: p.name }, p.state === 'failed' || p.state === 'reconnecting' ? 1 : 0);
        }
      },
    });
    new Gauge({
      name: 'ledger_projection_parked_events',
      help: 'Events a projection set aside (ledger projections retry-parked)',
      labelNames: ['projection'] as const,
      registers,
      collect() {
        this.reset();
        for (const p of projections()?.projections ?? []) this.set({ projection: p.name }, p.parked);
      },
    });
    const alertCounter = (name: string, help: string, read: (s: NonNullable<ReturnType<typeof alerts>>) => number) =>
      new Counter({
        name,
        help,
        registers,
        collect() {
          const status = alerts();
          if (!status) return;
          this.reset();
          this.inc(read(status));
        },
      });
    alertCounter('ledger_alerts_sent_total', 'Alerts delivered to a sink', (s) => s.delivered);
    alertCounter(
      'ledger_alerts_retried_total',
      'Alert delivery attempts that failed and were retried',
      (s) => s.retried,
    );
    alertCounter('ledger_alerts_dead_lettered_total', 'Alerts written to the dead-letter file', (s) => s.deadLettered);
    new Gauge({
      name: 'ledger_alerts_queued',
      help: 'Alerts waiting for delivery',
      registers,
      collect() {
        this.set(alerts()?.queued ?? 0);
      },
    });
    new Gauge({
      name: 'ledger_pg_pool_connections',
      help: "The event store's PostgreSQL pool: connections by state (idle, busy) and callers waiting for one",
      labelNames: ['state'] as const,
      registers,
      collect() {
        const usage = pool();
        if (!usage) return;
        this.set({ state: 'idle' }, usage.idle);
        this.set({ state: 'busy' }, usage.total - usage.idle);
        this.set({ state: 'waiting' }, usage.waiting);
      },
    });
    new Counter({
      name: 'ledger_auth_refusals_total',
      help: 'Calls refused by authentication or authorisation, by code and entrance',
      labelNames: ['code', 'entrance'] as const,
      registers,
      collect() {
        const counted = refusals();
        if (!counted) return;
        this.reset();
        for (const [code, byEntrance] of Object.entries(counted)) {
          for (const [entrance, count] of Object.entries(byEntrance)) this.inc({ code, entrance }, count ?? 0);
        }
      },
    });
  }

  /** Adds what the scrapes read (the workers exist after the metrics: the store's appends are timed from the start). */
  probe(probes: MetricsProbes): void {
    Object.assign(this.probes, probes);
  }

  /** One append call: its size, how long it took and how it ended. */
  appended(events: number, seconds: number, outcome: 'appended' | 'replay' | 'failed'): void {
    this.appends.inc({ outcome });
    this.appendSeconds.observe(seconds);
    this.appendBatch.observe(events);
    if (outcome === 'appended') this.appendedEvents.inc(events);
  }

  acknowledged(transport: Transport): void {
    this.acks.inc({ transport });
  }

  refused(kind: string, code: string, transport: Transport): void {
    this.refusals.inc({ kind, code, transport });
  }

  verificationRun(result: 'ok' | 'failed' | 'error'): void {
    this.verifications.inc({ result });
  }

  /** Every event the store's live monitor sees: verdicts, their latency, checkpoint seals. */
  observe(event: RecordedEvent): void {
    if (event.recordedAt.getTime() < this.since) return;
    const data = event.data;
    const executionId = typeof data.executionId === 'string' ? data.executionId : undefined;
    switch (event.type) {
      case 'ExecutionLogged':
        if (!executionId) return;
        this.pendingExecutions.set(executionId, event.recordedAt.getTime());
        if (this.pendingExecutions.size > PENDING_EXECUTIONS) {
          this.pendingExecutions.delete(this.pendingExecutions.keys().next().value!);
        }
        return;
      case 'ExecutionReconciled':
        return this.verdict(event, 'match', 'none', executionId);
      case 'MismatchDetected':
        return this.verdict(event, 'mismatch', typeof data.kind === 'string' ? data.kind : 'unknown', executionId);
      case 'ReconciliationUnclear':
        return this.verdict(event, 'unclear', 'none', executionId);
      case 'CheckpointSealed':
        this.seals.inc();
        return;
    }
  }

  private verdict(event: RecordedEvent, verdict: string, kind: string, executionId: string | undefined): void {
    this.verdicts.inc({ verdict, kind });
    const loggedAt = executionId ? this.pendingExecutions.get(executionId) : undefined;
    if (loggedAt === undefined) return;
    this.pendingExecutions.delete(executionId!);
    this.verdictSeconds.observe(Math.max(0, event.recordedAt.getTime() - loggedAt) / 1000);
  }

  async scrape(): Promise<{ contentType: string; body: string }> {
    // The ledger's series, then the process's (event-loop lag, heap, GC, CPU, fds: processMetrics)
    const body = (await this.registry.metrics()) + (await processMetrics().metrics());
    return { contentType: this.registry.contentType, body };
  }
}
