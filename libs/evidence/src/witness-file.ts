import {
  canonicalJson,
  headOf,
  parseSealedCheckpoint,
  parseWitnessRecord,
  type RollbackAcknowledgement,
  type SealedCheckpoint,
  type WitnessRecord,
} from '@audit-ledger/integrity';
import { createReadStream, existsSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Witness, WitnessState } from './witness.js';

/** Created owner-only: a witness names the ledger's history and is nobody else's to read or write. */
export const WITNESS_FILE_MODE = 0o600;

/**
 * A witness file: one record per line, as canonical JSON: a sealed checkpoint, or `{"rollbackAcknowledged": …}` where
 * an operator acknowledged a rollback (docs/integrity.md §5). Kept outside the database (another disk, host or an
 * append-only bucket), it still holds the checkpoints after a superuser rewrote the database. Each line is flushed to
 * disk (fsync) before the append returns.
 */
export async function appendToWitnessFile(file: string, record: WitnessRecord): Promise<void> {
  const handle = await open(file, 'a', WITNESS_FILE_MODE);
  try {
    await handle.appendFile(`${canonicalJson(record)}\n`, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** The last record of a witness file (null when it is empty or missing), read from its end. */
export async function lastWitnessRecord(file: string): Promise<WitnessRecord | null> {
  if (!existsSync(file)) return null;
  const { size } = await stat(file);
  if (size === 0) return null;
  const handle = await open(file, 'r');
  try {
    let length = Math.min(size, 64 * 1024);
    for (;;) {
      const buffer = Buffer.alloc(length);
      await handle.read(buffer, 0, length, size - length);
      const lines = buffer.toString('utf8').split('\n');
      // The first piece may be cut unless the whole file was read.
      const complete = length === size ? lines : lines.slice(1);
      const last = complete
        .map((line) => line.trim())
        .filter((line) => line !== '')
        .at(-1);
      if (last !== undefined) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(last);
        } catch {
          throw new Error(`the last line of the witness file ${file} is not JSON`);
        }
        const record = parseWitnessRecord(parsed);
        if (!record) throw new Error(`the last line of the witness file ${file} is not a witness record`);
        return record;
      }
      if (length === size) return null;
      length = Math.min(size, length * 4);
    }
  } finally {
    await handle.close();
  }
}

/** A witness file as a `Witness` (the sealer's publisher and the start-up check use it like an HTTP witness). */
export class FileWitness implements Witness {
  readonly kind = 'file';
  constructor(readonly target: string) {}

  async latest(): Promise<WitnessState> {
    const last = await lastWitnessRecord(this.target);
    return { head: last ? headOf(last) : null, last };
  }

  append(checkpoint: SealedCheckpoint): Promise<void> {
    return appendToWitnessFile(this.target, checkpoint);
  }

  acknowledgeRollback(ack: RollbackAcknowledgement): Promise<void> {
    return appendToWitnessFile(this.target, { rollbackAcknowledged: ack });
  }
}

export type WitnessLine = { line: number; checkpoint: SealedCheckpoint } | { line: number; error: string };

/** Streams a witness file's records, one at a time, with acknowledgements as they are. */
async function* readWitnessRecords(
  file: string,
): AsyncGenerator<{ line: number; record: WitnessRecord } | { line: number; error: string }> {
  if (!existsSync(file)) throw new Error(`the witness file ${file} does not exist`);
  const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  let line = 0;
  for await (const text of lines) {
    line += 1;
    if (text.trim() === '') continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      yield { line, error: 'not JSON' };
      continue;
    }
    const record = parseWitnessRecord(parsed);
    yield record ? { line, record } : { line, error: 'not a sealed checkpoint' };
  }
}

/**
 * Streams the checkpoints of a witness file's current branch: a checkpoint that a later rollback acknowledgement
 * abandoned (its range ends after the position the ledger resumed from) is left out, so line _i_ of what is yielded is
 * checkpoint _i_ of the database. Two passes: the first collects the acknowledgements (few), the second yields.
 */
export async function* readWitnessFile(file: string): AsyncGenerator<WitnessLine> {
  const acks: { line: number; resumedTo: bigint }[] = [];
  for await (const entry of readWitnessRecords(file)) {
    if ('record' in entry && 'rollbackAcknowledged' in entry.record) {
      acks.push({ line: entry.line, resumedTo: BigInt(entry.record.rollbackAcknowledged.resumedFrom.toPosition) });
    }
  }
  // lowestAfter[i]: the lowest resume position of acknowledgements i.. (a checkpoint before ack i is abandoned when
  // its range ends after it).
  const lowestAfter: bigint[] = [];
  for (let i = acks.length - 1; i >= 0; i--) {
    const next = lowestAfter[i + 1];
    lowestAfter[i] = next !== undefined && next < acks[i]!.resumedTo ? next : acks[i]!.resumedTo;
  }
  let ack = 0;
  for await (const entry of readWitnessRecords(file)) {
    while (ack < acks.length && acks[ack]!.line <= entry.line) ack += 1;
    if ('error' in entry) {
      yield entry;
      continue;
    }
    if ('rollbackAcknowledged' in entry.record) continue;
    const checkpoint = parseSealedCheckpoint(entry.record);
    if (!checkpoint) continue;
    const limit = lowestAfter[ack];
    if (limit !== undefined && BigInt(checkpoint.toPosition) > limit) continue; // abandoned by a later acknowledgement
    yield { line: entry.line, checkpoint };
  }
}
