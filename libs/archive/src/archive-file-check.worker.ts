import type { PublicKeyRing } from '@audit-ledger/integrity';
import { readFile } from 'node:fs/promises';
import { parentPort } from 'node:worker_threads';
import { checkArchiveFileFast } from './archive-file-fast-check.js';

/**
 * The archive file check on another core (archive-file-checks.ts): reads the file from disk and proves it from its
 * bytes (checkArchiveFileFast); answers with what it proved, or null when the file needs the full check (done by the
 * main thread, which names the problem).
 */
parentPort!.on('message', ({ id, path, keys }: { id: number; path: string; keys: PublicKeyRing }) => {
  readFile(path).then(
    (bytes) => {
      const checked = checkArchiveFileFast(bytes, keys);
      // The leaf hashes are moved, not copied (their buffer is their own: archive-file-fast-check.ts).
      parentPort!.postMessage({ id, checked }, checked?.leafHashes ? [checked.leafHashes.buffer as ArrayBuffer] : []);
    },
    (error: Error) => parentPort!.postMessage({ id, error: error.message }),
  );
});
