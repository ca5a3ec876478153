import { parentPort } from 'node:worker_threads';
import { parseCopyRow } from './copy-rows.js';
import { EVENT_FIELDS, RowContentHash } from './row-content-hash.js';

/**
 * The verifier's content-check worker: receives batches of EVENT_COLUMNS rows as binary COPY sends them (rows back to
 * back), recomputes each event's hash, and answers with the rows that do not match (the main thread reports them).
 */
const hasher = new RowContentHash();
const fields = new Int32Array(EVENT_FIELDS * 2);

parentPort!.on('message', ({ id, batch }: { id: number; batch: Uint8Array }) => {
  const bytes = Buffer.from(batch.buffer, batch.byteOffset, batch.byteLength);
  const failed: Uint8Array[] = [];
  let at = 0;
  while (at < bytes.length) {
    const end = parseCopyRow(bytes, at, EVENT_FIELDS, fields);
    if (!hasher.matches(bytes, fields)) failed.push(Uint8Array.prototype.slice.call(bytes, at, end));
    at = end;
  }
  parentPort!.postMessage({ id, failed });
});
