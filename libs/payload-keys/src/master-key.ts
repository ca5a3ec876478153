import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const MASTER_KEY_FILE = 'payload-master.key';

/**
 * The master key that wraps every stream's data key (docs/security.md "Payload encryption"): 32 bytes as 64 hex
 * digits, configured (LEDGER_PAYLOAD_MASTER_KEY), or generated on the first start and kept in
 * `dataDir/payload-master.key` (mode 0600, like the other local secrets; a start refuses a file others may read).
 */
export function resolveMasterKey(configured: string | undefined, dataDir: string): Buffer;
/** Without `generate`: undefined when none is configured or kept (commands that only read never create one). */
export function resolveMasterKey(configured: string | undefined, dataDir: string, generate: false): Buffer | undefined;
export function resolveMasterKey(configured: string | undefined, dataDir: string, generate = true): Buffer | undefined {
  if (configured) return parseMasterKey(configured, 'LEDGER_PAYLOAD_MASTER_KEY');
  const file = join(dataDir, MASTER_KEY_FILE);
  if (existsSync(file)) return parseMasterKey(readFileSync(file, 'utf8').trim(), file);
  if (!generate) return undefined;
  const key = randomBytes(32);
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, `${key.toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  return key;
}

function parseMasterKey(text: string, source: string): Buffer {
  if (!/^[0-9a-f]{64}$/i.test(text)) throw new Error(`${source}: a payload master key is 64 hex digits (32 bytes)`);
  return Buffer.from(text, 'hex');
}
