import { RECONCILER_VERSION } from '@audit-ledger/domain';
import { type EventStore } from '@audit-ledger/event-store';
import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { AlertDispatcher } from '@audit-ledger/alerts';
import { type LedgerConfig } from '../../config/ledger.config.js';
import { CLOCK, LEDGER_CONFIG, LOGGER, READABLE_EVENT_STORE, type Clock } from '../../shared/tokens.js';
import { RECONCILIATION_JUDGE, type AskJudge } from '../ask-judge.js';
import { rerunPace } from './rerun-pace.js';
import { RerunAlreadyRunningError, RerunJobNotFoundError, type RerunJobView } from './rerun-job.js';
import { countRerunExecutions, rerunReconciliation, type RerunSince } from './rerun-reconciliation.js';

/** The stream where each job's start and end are recorded (who re-ran what, and what it changed). */
const RERUN_STREAM = 'reconciliation-reruns';
const KEPT_JOBS = 20;

interface Job {
  view: RerunJobView;
  done: Promise<void>;
  wake?: () => void;
}

/**
 * Re-reconciliation as background jobs: one at a time, paced to LEDGER_RECONCILIATION_RERUN_EVENTS_PER_SECOND
 * executions per second (in batches of at most that many, each followed by the wait that keeps the rate), cancelled
 * between batches. A job belongs to the ledger, not to the HTTP request that started it. Its start and end are
 * recorded as events in stream `reconciliation-reruns`. The last jobs are kept in memory for the progress view.
 */
@Injectable()
export class RerunJobs implements OnModuleDestroy {
  private readonly jobs = new Map<string, Job>();
  private running: Job | undefined;

  constructor(
    // the reconciler compares opened commands (libs/payload-keys/src/decrypting-event-store.ts)
    @Inject(READABLE_EVENT_STORE) private readonly store: EventStore,
    private readonly alerts: AlertDispatcher,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(RECONCILIATION_JUDGE) private readonly judge: AskJudge | null,
  ) {}

  /** Starts a job and returns at once; refuses while another runs. */
  start(since: { text: string; parsed: RerunSince }, requestedBy: string): RerunJobView {
    if (this.running) throw new RerunAlreadyRunningError(this.running.view);
    const view: RerunJobView = {
      id: randomUUID(),
      state: 'running',
      since: since.text,
      requestedBy,
      reconcilerVersion: RECONCILER_VERSION,
      examined: 0,
      total: null,
      verdictsChanged: 0,
      recorded: [],
      lastPosition: '0',
      eventsPerSecond: this.config.reconciliationRerunEventsPerSecond,
      cancelRequested: false,
      startedAt: this.clock.now().toISOString(),
      finishedAt: null,
      error: null,
    };
    const job: Job = { view, done: Promise.resolve() };
    job.done = this.run(job, since.parsed);
    this.running = job;
    this.jobs.set(view.id, job);
    this.forgetOld();
    return { ...view };
  }

  get(id: string): RerunJobView {
    const job = this.jobs.get(id);
    if (!job) throw new RerunJobNotFoundError(id);
    return { ...job.view };
  }

  /** Newest first. */
  list(): RerunJobView[] {
    return [...this.jobs.values()].reverse().map((job) => ({ ...job.view, recorded: [] }));
  }

  /** Asks the job to stop before its next execution (at once when it is waiting for the rate limit). */
  cancel(id: string): RerunJobView {
    const job = this.jobs.get(id);
    if (!job) throw new RerunJobNotFoundError(id);
    if (job.view.state === 'running') {
      job.view.cancelRequested = true;
      job.wake?.();
    }
    return { ...job.view };
  }

  /** At shutdown a running job is cancelled (between two executions) and its end recorded before the store closes. */
  async onModuleDestroy(): Promise<void> {
    const job = this.running;
    if (!job) return;
    this.cancel(job.view.id);
    await job.done;
  }

  private async run(job: Job, since: RerunSince): Promise<void> {
    const { view } = job;
    const stop = () => view.cancelRequested;
    // Let the request that started the job answer first: the job never runs on its caller's time.
    await new Promise((resolve) => setImmediate(resolve));
    try {
      await this.record(view, 'ReconciliationRerunStarted', {
        jobId: view.id,
        since: view.since,
        reconcilerVersion: view.reconcilerVersion,
        eventsPerSecond: view.eventsPerSecond,
        startedAt: view.startedAt,
      });
      const counted = await countRerunExecutions(this.store, since, stop);
      view.total = counted.total;
      const pace = rerunPace(view.eventsPerSecond);
      const started = Date.now();
      await rerunReconciliation(
        this.store,
        this.alerts,
        this.logger,
        {
          since,
          throughPosition: counted.throughPosition,
          reconcilerVersion: view.reconcilerVersion,
          now: () => this.clock.now().toISOString(),
          alertOnUnclear: this.config.alertOnUnclear,
          ...(this.judge ? { judge: this.judge } : {}),
        },
        {
          batchSize: pace.batchSize,
          shouldStop: stop,
          afterBatch: async (report) => {
            Object.assign(view, report, { recorded: [...report.recorded] });
            view.verdictsChanged = report.recorded.length;
            await this.pause(job, pace.waitMs(started, report.examined, Date.now()));
          },
        },
      );
      view.state = view.cancelRequested ? 'cancelled' : 'finished';
    } catch (error) {
      view.state = 'failed';
      view.error = error instanceof Error ? error.message : String(error);
      this.logger.error({ err: error, jobId: view.id }, 're-reconciliation job failed');
    }
    view.finishedAt = this.clock.now().toISOString();
    this.running = undefined;
    await this.record(view, 'ReconciliationRerunEnded', {
      jobId: view.id,
      state: view.state,
      examined: view.examined,
      total: view.total,
      verdictsChanged: view.verdictsChanged,
      lastPosition: view.lastPosition,
      finishedAt: view.finishedAt,
      ...(view.error ? { error: view.error } : {}),
    }).catch((error: unknown) => this.logger.error({ err: error, jobId: view.id }, 'could not record the job end'));
  }

  private pause(job: Job, ms: number): Promise<void> {
    if (ms <= 0 || job.view.cancelRequested) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        job.wake = undefined;
        resolve();
      }
      job.wake = done;
    });
  }

  private async record(view: RerunJobView, type: string, data: Record<string, unknown>): Promise<void> {
    const eventId = randomUUID();
    await this.store.appendToStream(RERUN_STREAM, [
      {
        eventId,
        type,
        data,
        metadata: {
          correlationId: view.id,
          causationId: eventId,
          recordedAt: this.clock.now().toISOString(),
          actor: view.requestedBy,
          schemaVersion: 1,
        },
      },
    ]);
  }

  private forgetOld(): void {
    for (const [id, job] of this.jobs) {
      if (this.jobs.size <= KEPT_JOBS) break;
      if (job !== this.running) this.jobs.delete(id);
    }
  }
}
