import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readlinkSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { traversableBy, type OsUser } from './os-user.js';

/**
 * Where the cluster's files really live. Normally `clusterDir` itself. When the server's OS user cannot pass through
 * the directories above it (a checkout under /root, say), the cluster lives under `sharedDir` and `clusterDir` is a
 * symbolic link to it, so the data stays reachable from the configured path across restarts.
 */
export function clusterLocation(clusterDir: string, user: OsUser | undefined, sharedDir: string): string {
  if (!user) return clusterDir;
  mkdirSync(dirname(clusterDir), { recursive: true });
  if (isSymlink(clusterDir)) return readlinkSync(clusterDir);
  if (traversableBy(clusterDir, user)) return clusterDir;
  if (existsSync(clusterDir)) {
    throw new Error(
      `The embedded PostgreSQL runs as the OS user ${user.name}, which cannot enter the directories above ${clusterDir}; ` +
        `move the data directory (LEDGER_DATA_DIR) somewhere it can reach`,
    );
  }
  const real = join(sharedDir, 'clusters', createHash('sha256').update(clusterDir).digest('hex').slice(0, 16));
  mkdirSync(dirname(real), { recursive: true, mode: 0o755 });
  symlinkSync(real, clusterDir);
  return real;
}

function isSymlink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}
