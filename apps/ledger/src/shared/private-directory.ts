import { chmodSync, chownSync, mkdirSync, statSync } from 'node:fs';

export interface DirectoryAccess {
  /** A group that must pass through (the embedded server's OS user when the ledger runs as root): mode 0710. */
  traverseGid?: number;
}

/**
 * Creates `dir` readable by its owner only (0700; 0710 with `traverseGid`), or tightens an existing one whose mode
 * is wider. Returns a message when it changed an existing directory (for the log), else undefined.
 */
export function ensurePrivateDirectory(dir: string, access: DirectoryAccess = {}): string | undefined {
  const wanted = access.traverseGid === undefined ? 0o700 : 0o710;
  let existed = true;
  try {
    statSync(dir);
  } catch {
    existed = false;
    mkdirSync(dir, { recursive: true, mode: wanted });
  }
  const stat = statSync(dir);
  const changes: string[] = [];
  if (access.traverseGid !== undefined && stat.gid !== access.traverseGid) {
    chownSync(dir, stat.uid, access.traverseGid);
    changes.push(`group ${access.traverseGid}`);
  }
  if ((stat.mode & 0o777) !== wanted) {
    chmodSync(dir, wanted);
    changes.push(`mode ${(stat.mode & 0o777).toString(8).padStart(4, '0')} → ${wanted.toString(8).padStart(4, '0')}`);
  }
  return existed && changes.length > 0 ? `tightened ${dir}: ${changes.join(', ')}` : undefined;
}
