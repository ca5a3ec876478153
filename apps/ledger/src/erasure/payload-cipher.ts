import { ERASED, type ExecutionLoggedData } from '@audit-ledger/domain';
import type { RecordedEvent } from '@audit-ledger/event-store';
import { isSealedField, openField, sealField, sealedFieldKeyId } from '@audit-ledger/integrity';
import type { StreamKeys } from './stream-keys.js';

/** Which fields of an execution are stored encrypted. Off: stored as they come (as before payload encryption). */
export interface PayloadEncryptionOptions {
  /** The output's stored text (`output.text`). */
  output: boolean;
  /** The command line (`command`): off by default, since a mismatch's explanation quotes it (docs/security.md). */
  command: boolean;
}

/** Where a field sits: a sealed field opens only there. */
const placeOf = (streamId: string, executionId: string, field: string) =>
  `${streamId}\u0000${executionId}\u0000${field}`;

/**
 * Seals an execution's sensitive fields before it is appended (the hash then covers the ciphertext) and opens them
 * for readers: the reconciler, the projections, stream reads and replays. A field whose key was destroyed reads as
 * `[erased]`; an event stored before encryption (plaintext) reads as it is.
 */
export class PayloadCipher {
  constructor(
    private readonly keys: StreamKeys,
    private readonly options: PayloadEncryptionOptions,
  ) {}

  get enabled(): boolean {
    return this.options.output || this.options.command;
  }

  async seal(streamId: string, data: ExecutionLoggedData): Promise<ExecutionLoggedData> {
    if (!this.enabled) return data;
    const { keyId, key } = await this.keys.keyFor(streamId);
    const seal = (field: string, text: string) =>
      sealField(key, keyId, placeOf(streamId, data.executionId, field), text);
    return {
      ...data,
      ...(this.options.command ? { command: seal('command', data.command) } : {}),
      ...(this.options.output ? { output: { ...data.output, text: seal('output.text', data.output.text) } } : {}),
    };
  }

  /** The events with their sealed fields opened (events without one are returned as they are). */
  async openEvents(events: readonly RecordedEvent[]): Promise<RecordedEvent[]> {
    const keyIds = events.flatMap((event) => sealedFieldsOf(event).map(({ value }) => sealedFieldKeyId(value)!));
    if (keyIds.length === 0) return [...events];
    const keys = await this.keys.keysById(keyIds);
    return events.map((event) => openEvent(event, keys));
  }
}

interface SealedField {
  field: 'command' | 'output.text';
  value: string;
}

function sealedFieldsOf(event: RecordedEvent): SealedField[] {
  if (event.type !== 'ExecutionLogged') return [];
  const found: SealedField[] = [];
  if (isSealedField(event.data['command'])) found.push({ field: 'command', value: event.data['command'] });
  const output = event.data['output'];
  if (typeof output === 'object' && output !== null && isSealedField((output as Record<string, unknown>)['text']))
    found.push({ field: 'output.text', value: (output as Record<string, string>)['text']! });
  return found;
}

function openEvent(event: RecordedEvent, keys: ReadonlyMap<string, Buffer | null>): RecordedEvent {
  const fields = sealedFieldsOf(event);
  if (fields.length === 0) return event;
  const executionId = String(event.data['executionId']);
  const opened = new Map<string, string>();
  for (const { field, value } of fields) {
    const keyId = sealedFieldKeyId(value)!;
    const key = keys.get(keyId);
    if (key === undefined)
      throw new Error(`data key ${keyId} of ${event.streamId} (global position ${event.globalPosition}) is unknown`);
    opened.set(field, key === null ? ERASED : openField(key, placeOf(event.streamId, executionId, field), value));
  }
  const data = { ...event.data };
  if (opened.has('command')) data['command'] = opened.get('command');
  if (opened.has('output.text'))
    data['output'] = { ...(data['output'] as Record<string, unknown>), text: opened.get('output.text') };
  return { ...event, data };
}
