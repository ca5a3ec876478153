import { open, type FileHandle } from 'node:fs/promises';

const SCAN_CHUNK_BYTES = 1024 * 1024;
const LINE_CHUNK_BYTES = 64 * 1024;
const NEWLINE = 0x0a;

export interface SpoolLogScan {
  /** Complete (newline-terminated) lines. */
  lines: number;
  /** Bytes up to and including the last newline. */
  completeBytes: number;
  /** Bytes after the last newline: a line torn by a crash mid-append. */
  tornBytes: number;
  /** Byte offset where line number `skip + 1` starts (or `completeBytes` when there are fewer lines). */
  offsetAfterSkipped: number;
}

/** Counts lines in chunks, so a large spool is never read into memory whole. A missing file is an empty log. */
export async function scanSpoolLog(path: string, skip: number): Promise<SpoolLogScan> {
  const file = await openIfExists(path);
  if (!file) return { lines: 0, completeBytes: 0, tornBytes: 0, offsetAfterSkipped: 0 };
  try {
    const buffer = Buffer.allocUnsafe(SCAN_CHUNK_BYTES);
    let position = 0;
    let lines = 0;
    let completeBytes = 0;
    let offsetAfterSkipped = 0;
    for (;;) {
      const { bytesRead } = await file.read(buffer, 0, SCAN_CHUNK_BYTES, position);
      if (bytesRead === 0) break;
      const chunk = buffer.subarray(0, bytesRead);
      for (let index = chunk.indexOf(NEWLINE); index !== -1; index = chunk.indexOf(NEWLINE, index + 1)) {
        lines += 1;
        completeBytes = position + index + 1;
        if (lines === skip) offsetAfterSkipped = completeBytes;
      }
      position += bytesRead;
    }
    if (skip >= lines) offsetAfterSkipped = completeBytes;
    return { lines, completeBytes, tornBytes: position - completeBytes, offsetAfterSkipped };
  } finally {
    await file.close();
  }
}

/** The complete line starting at `offset` (without its newline) and where the next one starts; none at the end. */
export async function readLineAt(path: string, offset: number): Promise<{ text: string; next: number } | undefined> {
  const file = await openIfExists(path);
  if (!file) return undefined;
  try {
    const chunks: Buffer[] = [];
    let position = offset;
    for (;;) {
      const buffer = Buffer.allocUnsafe(LINE_CHUNK_BYTES);
      const { bytesRead } = await file.read(buffer, 0, LINE_CHUNK_BYTES, position);
      if (bytesRead === 0) return undefined;
      const end = buffer.subarray(0, bytesRead).indexOf(NEWLINE);
      if (end !== -1) {
        chunks.push(buffer.subarray(0, end));
        const text = Buffer.concat(chunks).toString('utf8');
        return { text, next: position + end + 1 };
      }
      chunks.push(buffer.subarray(0, bytesRead));
      position += bytesRead;
    }
  } finally {
    await file.close();
  }
}

async function openIfExists(path: string): Promise<FileHandle | undefined> {
  try {
    return await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
