import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { writeFileAtomically } from './durable-files.js';

/**
 * `progress.json`: how many spool lines, from the top, are done with (acknowledged by the ledger, or moved to
 * `rejected.jsonl`). Rewritten atomically after each one. A crash between an acknowledgement and this write only
 * makes the drain send that entry again, which the ledger answers from its idempotency record.
 */
const Progress = z.object({ acked: z.number().int().nonnegative() });

export type ProgressReading = { acked: number } | { acked: 0; unreadable: string };

export async function readProgress(path: string): Promise<ProgressReading> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { acked: 0 };
    throw error;
  }
  try {
    return Progress.parse(JSON.parse(text));
  } catch {
    // Starting over is safe (resends are idempotent); losing entries is not.
    return { acked: 0, unreadable: text.slice(0, 200) };
  }
}

export function writeProgress(path: string, acked: number): Promise<void> {
  return writeFileAtomically(path, `${JSON.stringify({ acked })}\n`);
}
