import { randomBytes } from 'node:crypto';
import { open, rename, truncate, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';

// The spool may hold raw tokens and command output: files are readable by their owner only.
export const PRIVATE_FILE_MODE = 0o600;
export const PRIVATE_DIR_MODE = 0o700;

/** Appends and fsyncs: when this resolves, the bytes survive a crash or a power cut. */
export async function appendDurably(path: string, text: string): Promise<void> {
  const file = await open(path, 'a', PRIVATE_FILE_MODE);
  try {
    await file.writeFile(text, 'utf8');
    await file.sync();
  } finally {
    await file.close();
  }
}

/** Readers see the old content or the new one, never a mix (write a temporary file, fsync, rename, fsync dir). */
export async function writeFileAtomically(path: string, text: string): Promise<void> {
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    const file = await open(temporary, 'w', PRIVATE_FILE_MODE);
    try {
      await file.writeFile(text, 'utf8');
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporary, path);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
  await syncDirectory(dirname(path));
}

export async function truncateDurably(path: string, length: number): Promise<void> {
  await truncate(path, length);
  const file = await open(path, 'r+');
  try {
    await file.sync();
  } finally {
    await file.close();
  }
}

/** Makes a created, renamed or removed name durable. Some platforms cannot fsync a directory: nothing to do there. */
export async function syncDirectory(path: string): Promise<void> {
  let directory;
  try {
    directory = await open(path, 'r');
    await directory.sync();
  } catch (error) {
    if (!['EISDIR', 'EPERM', 'EINVAL', 'EBADF'].includes((error as NodeJS.ErrnoException).code ?? '')) throw error;
  } finally {
    await directory?.close();
  }
}
