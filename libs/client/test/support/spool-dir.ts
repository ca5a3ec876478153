import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SPOOL_FILES } from '../../src/index.js';

/** A fresh spool directory, and readers for its files as a test sees them. */
export class SpoolDir {
  readonly path = mkdtempSync(join(tmpdir(), 'ledger-spool-'));

  file(name: keyof typeof SPOOL_FILES): string {
    return join(this.path, SPOOL_FILES[name]);
  }

  text(name: keyof typeof SPOOL_FILES): string {
    return existsSync(this.file(name)) ? readFileSync(this.file(name), 'utf8') : '';
  }

  jsonLines(name: 'entries' | 'rejected' | 'conflicts'): Record<string, unknown>[] {
    return this.text(name)
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  acked(): number {
    const text = this.text('progress');
    return text ? (JSON.parse(text) as { acked: number }).acked : 0;
  }

  remove(): void {
    rmSync(this.path, { recursive: true, force: true });
  }
}
