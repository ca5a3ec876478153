import type { CommandAck } from '@audit-ledger/domain';
import { LedgerClientClosedError, LedgerRejectedError, LedgerValidationError, SpoolWriteError } from './errors.js';
import {
  LEDGER_COMMANDS,
  validateCommand,
  withOccurredAt,
  type LedgerCommandInput,
  type LedgerCommandName,
  type MessagePattern,
} from './ledger-commands.js';
import {
  resolveClientSettings,
  type LedgerClientOptions,
  type ResolvedClientSettings,
} from './ledger-client.options.js';
import { describeError } from './logging/client-logger.js';
import { clientRedactionSecret, clientRedactor, redactPayload } from './redaction/client-redaction.js';
import type { Redactor } from '@audit-ledger/domain';
import { DrainScheduler } from './spool/drain-scheduler.js';
import { drainSpool, type DrainedEntry, type DrainReport } from './spool/spool-drain.js';
import { Spool } from './spool/spool.js';
import { frameSizeIssue } from './transport/frame-size.js';
import { localDataDir, localKeyFor } from './credentials/local-credentials.js';
import { NestLedgerTransport, type LedgerTransport } from './transport/ledger-transport.js';

export type LedgerCommandResult =
  | { status: 'acknowledged'; ack: CommandAck }
  /** Durable on local disk, not yet in the ledger: it will be sent, in order, when the ledger answers again. */
  | { status: 'spooled'; spoolSeq: number };

/**
 * What a gateway uses to record approvals and executions. It never blocks the gateway on the ledger: a command the
 * ledger cannot take now is spooled to disk (fsync'd) and sent later, in order; only bad input and definitive
 * refusals throw.
 */
export class LedgerClient {
  private readonly settings: ResolvedClientSettings;
  private readonly transport: LedgerTransport;
  /**
   * Presented with every command; never written to the spool. Without an explicit one, the local gateway key, looked
   * up until it exists: a gateway started before the ledger's first start picks it up once the ledger has written it.
   */
  private readonly credential: () => string | undefined;
  private readonly spool: Spool;
  private readonly scheduler: DrainScheduler | undefined;
  private readonly ready: Promise<void>;
  private readonly inFlight = new Set<Promise<unknown>>();
  private drainPass: Promise<DrainReport> | undefined;
  private redactor: Promise<Redactor> | undefined;
  private closed = false;
  private closing: Promise<void> | undefined;

  constructor(options: LedgerClientOptions = {}) {
    this.settings = resolveClientSettings(options);
    const { logger, requestTimeoutMs, spoolDir, lockWaitMs } = this.settings;
    this.credential = credentialSource(options);
    this.transport =
      options.ledgerTransport ?? NestLedgerTransport.create(options, requestTimeoutMs, logger, this.credential);
    this.spool = new Spool(spoolDir, logger, lockWaitMs);
    this.scheduler = this.settings.backgroundDrain
      ? new DrainScheduler(() => this.drainInBackground(), this.settings.drainBackoff)
      : undefined;
    this.ready = this.adoptLeftovers();
  }

  logExecution(request: LedgerCommandInput<'logExecution'>): Promise<LedgerCommandResult> {
    return this.submit('logExecution', request);
  }

  grantApproval(request: LedgerCommandInput<'grantApproval'>): Promise<LedgerCommandResult> {
    return this.submit('grantApproval', request);
  }

  rejectApproval(request: LedgerCommandInput<'rejectApproval'>): Promise<LedgerCommandResult> {
    return this.submit('rejectApproval', request);
  }

  revokeApproval(request: LedgerCommandInput<'revokeApproval'>): Promise<LedgerCommandResult> {
    return this.submit('revokeApproval', request);
  }

  /** Sends what the spool holds, oldest first, until it is empty or the ledger stops answering. */
  async drainSpool(options: { onEntry?: (entry: DrainedEntry) => void } = {}): Promise<DrainReport> {
    this.assertOpen();
    return this.track(async () => {
      await this.ready;
      return this.drainOnce(options.onEntry);
    });
  }

  /** Stops background draining, lets in-flight commands finish (or spool), closes the transport, frees the spool. */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async submit<N extends LedgerCommandName>(
    name: N,
    request: LedgerCommandInput<N>,
  ): Promise<LedgerCommandResult> {
    this.assertOpen();
    const validated = withOccurredAt(validateCommand(name, request), new Date().toISOString());
    const { pattern } = LEDGER_COMMANDS[name];
    return this.track(async () => {
      // Secrets never reach the wire or the spool files: redacted here, the same way on every resend.
      const redactor = await this.redactorOnce();
      const payload = redactor ? redactPayload(name, validated, redactor) : validated;
      // Too big for one frame: the ledger would close the connection, which looks like an outage (spooled, retried forever).
      const tooBig =
        this.settings.maxFrameBytes && frameSizeIssue(pattern, payload, this.settings.maxFrameBytes, this.credential());
      if (tooBig) throw new LedgerValidationError(name, [tooBig]);
      await this.ready;
      if (this.spool.pending > 0) return this.spoolCommand(pattern, payload, 'earlier commands are still spooled');
      const outcome = await this.transport.send(pattern, payload);
      switch (outcome.kind) {
        case 'acknowledged':
          return { status: 'acknowledged', ack: outcome.ack };
        case 'refused':
          throw new LedgerRejectedError(outcome.code, outcome.message, outcome.issues, outcome.details);
        case 'unavailable':
          return this.spoolCommand(pattern, payload, outcome.reason);
      }
    });
  }

  private async spoolCommand(pattern: MessagePattern, payload: unknown, reason: string): Promise<LedgerCommandResult> {
    let seq: number;
    try {
      seq = (await this.spool.append(pattern, payload)).seq;
    } catch (error) {
      throw new SpoolWriteError(this.spool.dir, error);
    }
    this.settings.logger.warn(
      { spoolDir: this.spool.dir, seq, pattern, reason, pending: this.spool.pending },
      'ledger unavailable: command spooled',
    );
    this.scheduler?.kick();
    return { status: 'spooled', spoolSeq: seq };
  }

  /** One drain pass at a time: a second caller joins the running one. */
  private drainOnce(onEntry?: (entry: DrainedEntry) => void): Promise<DrainReport> {
    const { onSpoolConflict } = this.settings;
    const credential = this.credential();
    this.drainPass ??= drainSpool(this.spool, this.transport, this.settings.logger, {
      shouldStop: () => this.closed,
      ...(this.settings.maxFrameBytes ? { maxFrameBytes: this.settings.maxFrameBytes } : {}),
      ...(credential === undefined ? {} : { credential }),
      onEntry: (entry) => {
        if (entry.outcome === 'conflict') {
          try {
            onSpoolConflict?.(entry);
          } catch (error) {
            this.settings.logger.error({ spoolDir: this.spool.dir, ...describeError(error) }, 'onSpoolConflict threw');
          }
        }
        onEntry?.(entry);
      },
    }).finally(() => (this.drainPass = undefined));
    return this.drainPass;
  }

  /** No caller sees a background pass fail (a full disk, a spool taken by another process): the log must say it. */
  private drainInBackground(): Promise<DrainReport> {
    return this.drainOnce().catch((error: unknown) => {
      this.settings.logger.error(
        { spoolDir: this.spool.dir, ...describeError(error) },
        'background spool drain failed',
      );
      throw error;
    });
  }

  /** Entries left by an earlier run are this client's to send first, unless another live process holds them. */
  private async adoptLeftovers(): Promise<void> {
    try {
      if (!(await this.spool.mayHaveEntriesOnDisk())) return;
      if ((await this.spool.adoptLeftovers()) && this.spool.pending > 0) {
        this.settings.logger.warn(
          { spoolDir: this.spool.dir, pending: this.spool.pending },
          'spooled commands from an earlier run: they go first',
        );
        this.scheduler?.kick();
      }
    } catch (error) {
      this.settings.logger.error({ spoolDir: this.spool.dir, ...describeError(error) }, 'could not open the spool');
    }
  }

  private async shutDown(): Promise<void> {
    this.closed = true;
    this.scheduler?.stop();
    await Promise.allSettled([this.ready, ...this.inFlight, this.drainPass]);
    await this.transport.close();
    await this.spool.release();
  }

  private track<T>(operation: () => Promise<T>): Promise<T> {
    const promise = operation();
    this.inFlight.add(promise);
    void promise.then(
      () => this.inFlight.delete(promise),
      () => this.inFlight.delete(promise),
    );
    return promise;
  }

  /** The redactor, its key read or created once (undefined when redaction is switched off). */
  private redactorOnce(): Promise<Redactor> | undefined {
    const redaction = this.settings.redaction;
    if (redaction === false) return undefined;
    this.redactor ??= (async () =>
      clientRedactor(redaction.key ?? (await clientRedactionSecret(this.settings.spoolDir)), redaction.settings))();
    return this.redactor;
  }

  private assertOpen(): void {
    if (this.closed) throw new LedgerClientClosedError();
  }
}

/** The credential to present: the explicit one, else the local gateway key once the ledger has written it. */
function credentialSource(options: LedgerClientOptions): () => string | undefined {
  const explicit = options.credential;
  if (explicit !== undefined || options.ledgerTransport) return () => explicit;
  let local: string | undefined;
  return () => (local ??= localKeyFor(localDataDir(), 'gateway'));
}
