import { ERASED, UNREADABLE, type ErasableField, type ExecutionLoggedData } from '@audit-ledger/domain';
import type { NewEvent, RecordedEvent } from '@audit-ledger/event-store';
import { isSealedField, openField, sealField, SealedFieldError, sealedFieldKeyId } from '@audit-ledger/integrity';
import { performance } from 'node:perf_hooks';
import { OpenedFields } from './opened-fields.js';
import type { StreamKeys } from './stream-keys.js';

/** Which fields of an execution are stored encrypted. Off: stored as they come (as before payload encryption). */
export interface PayloadEncryptionOptions {
  /** The output's stored text (`output.text`). */
  output: boolean;
  /**
   * The command line (`command`), and the reconciler's verdict texts that quote it (explanations, the executed
   * command of a mismatch, a judge's rationale). Off by default.
   */
  command: boolean;
}

/** A text field of an event that may be stored sealed, by its dotted path, and which setting seals it. */
interface SealablePath {
  path: string;
  under: ErasableField;
}

const VERDICT_TEXTS: readonly SealablePath[] = [
  { path: 'explanation', under: 'command' },
  { path: 'judge.rationale', under: 'command' },
];

/** Per event type: the fields sealed, and which data field names the event's place (the AAD) besides its stream. */
interface Sealable {
  place: (event: NewEvent) => string;
  paths: readonly SealablePath[];
}

const SEALABLE: Readonly<Record<string, Sealable>> = {
  ExecutionLogged: {
    place: (event) => String(event.data['executionId']),
    paths: [
      { path: 'command', under: 'command' },
      { path: 'output.text', under: 'output.text' },
    ],
  },
  MismatchDetected: {
    place: (event) => event.eventId,
    paths: [...VERDICT_TEXTS, { path: 'executed.command', under: 'command' }],
  },
  ExecutionReconciled: { place: (event) => event.eventId, paths: VERDICT_TEXTS },
  ReconciliationUnclear: {
    place: (event) => event.eventId,
    paths: [{ path: 'reason', under: 'command' }, ...VERDICT_TEXTS],
  },
};

/** An event type's sealable fields: only the table's own entries (a type named `constructor` has none). */
function sealableOf(type: string): Sealable | undefined {
  return Object.hasOwn(SEALABLE, type) ? SEALABLE[type] : undefined;
}

/**
 * A field sealed here is remembered for its readers (the reconciler, the projections) only while fields were opened
 * within this long: with the workers off nothing opens them, and remembering would only cost memory.
 */
const READERS_GONE_AFTER_MS = 10_000;

/** Where a field sits: a sealed field opens only there. */
const placeOf = (streamId: string, id: string, path: string) => `${streamId}\u0000${id}\u0000${path}`;

/** Dotted paths split once: every event read or opened walks them. */
const splitPaths = new Map<string, readonly string[]>();
function partsOf(path: string): readonly string[] {
  let parts = splitPaths.get(path);
  if (!parts) splitPaths.set(path, (parts = path.split('.')));
  return parts;
}

function read(data: Record<string, unknown>, path: string): unknown {
  let value: unknown = data;
  for (const part of partsOf(path)) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** A copy of `data` with `path` set (the objects on the way copied, nothing else). */
function written(data: Record<string, unknown>, path: string, value: string): Record<string, unknown> {
  return writtenAt(data, partsOf(path), 0, value);
}

function writtenAt(
  data: Record<string, unknown>,
  parts: readonly string[],
  at: number,
  value: string,
): Record<string, unknown> {
  const head = parts[at]!;
  if (at === parts.length - 1) return { ...data, [head]: value };
  return { ...data, [head]: writtenAt(data[head] as Record<string, unknown>, parts, at + 1, value) };
}

/**
 * Seals an execution's sensitive fields (and the verdict texts quoting its command) before they are appended, so the
 * event's hash covers the ciphertext, and opens them for readers: the reconciler, the projections, stream reads and
 * replays. A field whose key was destroyed reads as `[erased]`; a field stored in clear (an event written before
 * payload encryption) reads as it is.
 */
export class PayloadCipher {
  private readonly fields: ReadonlySet<ErasableField>;
  /** Fields sealed or opened here lately: each is decrypted once per process, not once per reader. */
  private readonly openedFields = new OpenedFields();
  private decryptions = 0;
  /** When fields were last opened here (performance.now()): what is sealed is remembered only while readers open. */
  private lastOpenedAt = -Infinity;

  constructor(
    private readonly keys: StreamKeys,
    options: PayloadEncryptionOptions,
  ) {
    this.fields = new Set<ErasableField>([
      ...(options.command ? (['command'] as const) : []),
      ...(options.output ? (['output.text'] as const) : []),
    ]);
    keys.onForget((streamId) => this.openedFields.forget(streamId));
  }

  /** Fields decrypted so far (those answered from the fields sealed or opened lately are not counted). */
  get fieldsDecrypted(): number {
    return this.decryptions;
  }

  /** The fields sealed by this configuration. */
  get sealedFields(): ErasableField[] {
    return [...this.fields];
  }

  /** An execution's data as it is appended by the command path. */
  async seal(streamId: string, data: ExecutionLoggedData): Promise<ExecutionLoggedData> {
    const [event] = await this.sealEvents(streamId, [
      { eventId: '', type: 'ExecutionLogged', data: data as unknown as Record<string, unknown>, metadata: {} },
    ]);
    return event!.data as unknown as ExecutionLoggedData;
  }

  /** New events with their sealable fields sealed (others as they are). */
  async sealEvents(streamId: string, events: readonly NewEvent[]): Promise<NewEvent[]> {
    const plans = events.map((event) => this.pathsToSeal(event));
    if (plans.every((paths) => paths.length === 0)) return [...events];
    const { keyId, key } = await this.keys.keyFor(streamId);
    const remember = performance.now() - this.lastOpenedAt < READERS_GONE_AFTER_MS;
    return events.map((event, i) => {
      let data = event.data;
      const id = sealableOf(event.type)?.place(event) ?? event.eventId;
      for (const path of plans[i]!) {
        const place = placeOf(streamId, id, path);
        const plaintext = read(data, path) as string;
        const sealed = sealField(key, keyId, place, plaintext);
        if (remember) this.openedFields.remember(streamId, place, sealed, plaintext);
        data = written(data, path, sealed);
      }
      return data === event.data ? event : { ...event, data };
    });
  }

  /** The events with their sealed fields opened (events without one are returned as they are). */
  async openEvents(events: readonly RecordedEvent[]): Promise<RecordedEvent[]> {
    const sealed = events.map(sealedPathsOf);
    const keyIds = sealed.flatMap((found) => found.map(({ value }) => sealedFieldKeyId(value)!));
    if (keyIds.length === 0) return [...events];
    this.lastOpenedAt = performance.now();
    const keys = await this.keys.keysById(keyIds);
    return events.map((event, i) => this.openEvent(event, sealed[i]!, keys));
  }

  /**
   * The event with its sealed fields opened, without waiting, when every key it needs is known and trusted here (what
   * `openEvents` would answer: no read of keys was due); undefined otherwise (then `openEvents`).
   */
  openTrusted(event: RecordedEvent): RecordedEvent | undefined {
    const sealed = sealedPathsOf(event);
    if (sealed.length === 0) return event;
    const keys = this.keys.trustedKeys(sealed.map(({ value }) => sealedFieldKeyId(value)!));
    if (!keys) return undefined;
    this.lastOpenedAt = performance.now();
    return this.openEvent(event, sealed, keys);
  }

  private openEvent(
    event: RecordedEvent,
    sealed: readonly { path: string; value: string }[],
    keys: ReadonlyMap<string, Buffer | null>,
  ): RecordedEvent {
    if (sealed.length === 0) return event;
    const id = sealableOf(event.type)!.place(event);
    let data = event.data;
    for (const { path, value } of sealed) {
      const key = keys.get(sealedFieldKeyId(value)!);
      data = written(
        data,
        path,
        key === null ? ERASED : key ? this.opened(key, event.streamId, id, path, value) : UNREADABLE,
      );
    }
    return { ...event, data };
  }

  /**
   * The field's plaintext under its live key: remembered, or decrypted (and remembered). A field that does not open
   * where it is stored (copied to another stream or event, edited, or under a key this database does not hold) reads
   * as `[unreadable]` rather than stopping every reader: the hashes, which cover the ciphertext, are what tells an
   * edit (`ledger verify`).
   */
  private opened(key: Buffer, streamId: string, id: string, path: string, value: string): string {
    const place = placeOf(streamId, id, path);
    const remembered = this.openedFields.get(place, value);
    if (remembered !== undefined) return remembered;
    this.decryptions += 1;
    try {
      const plaintext = openField(key, place, value);
      this.openedFields.remember(streamId, place, value, plaintext);
      return plaintext;
    } catch (error) {
      if (error instanceof SealedFieldError) return UNREADABLE;
      throw error;
    }
  }

  private pathsToSeal(event: NewEvent): string[] {
    const sealable = sealableOf(event.type);
    if (!sealable) return [];
    return sealable.paths
      .filter(({ path, under }) => this.fields.has(under) && typeof read(event.data, path) === 'string')
      .filter(({ path }) => !isSealedField(read(event.data, path)))
      .map(({ path }) => path);
  }
}

const NONE: readonly { path: string; value: string }[] = [];

function sealedPathsOf(event: RecordedEvent): readonly { path: string; value: string }[] {
  const sealable = sealableOf(event.type);
  if (!sealable) return NONE;
  let found: { path: string; value: string }[] | undefined;
  for (const { path } of sealable.paths) {
    const value = read(event.data, path);
    if (isSealedField(value)) (found ??= []).push({ path, value });
  }
  return found ?? NONE;
}
