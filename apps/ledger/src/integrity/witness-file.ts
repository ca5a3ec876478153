import { canonicalJson, parseSealedCheckpoint, type SealedCheckpoint } from '@audit-ledger/integrity';
import { createReadStream, existsSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';

/**
 * A witness file: one sealed checkpoint per line, as canonical JSON, in checkpoint order. Kept outside the database
 * (another disk, host or an append-only bucket), it still holds the checkpoints after a superuser rewrote the database.
 */
export async function appendToWitnessFile(file: string, checkpoint: SealedCheckpoint): Promise<void> {
  await appendFile(file, `${canonicalJson(checkpoint)}\n`, 'utf8');
}

export type WitnessLine = { line: number; checkpoint: SealedCheckpoint } | { line: number; error: string };

/** Streams a witness file's checkpoints, one at a time. */
export async function* readWitnessFile(file: string): AsyncGenerator<WitnessLine> {
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
    const checkpoint = parseSealedCheckpoint(parsed);
    yield checkpoint ? { line, checkpoint } : { line, error: 'not a sealed checkpoint' };
  }
}
