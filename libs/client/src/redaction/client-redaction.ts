import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FieldRedactions, Redactor, type RedactionSettings } from '@audit-ledger/domain';
import { deriveRedactionKey, redactionFingerprint, sha256Hex } from '@audit-ledger/integrity';
import type { LedgerCommandName, LedgerCommandPayload } from '../ledger-commands.js';

/** Where a client keeps its own marker key when given none: beside the spool it protects. */
export const CLIENT_REDACTION_KEY_FILE = 'redaction.key';

export interface ClientRedactionOptions {
  /**
   * The secret marker keys derive from (HKDF, as the ledger derives its own from LEDGER_TOKEN_HMAC_SECRET): give the
   * ledger's token HMAC secret and markers are the very ones the ledger would write. Unset: a key generated once and
   * kept in `<spoolDir>/redaction.key` (mode 0600), so a resubmitted command redacts the same way after a restart.
   */
  key?: string | Uint8Array;
  /** Rules to add, rules to disable, secrets to allow: as the ledger's LEDGER_REDACTION_* settings. */
  settings?: RedactionSettings;
}

/** Reads or creates the client's marker secret in the spool directory. */
export async function clientRedactionSecret(spoolDir: string): Promise<string> {
  const file = join(spoolDir, CLIENT_REDACTION_KEY_FILE);
  await mkdir(spoolDir, { recursive: true, mode: 0o700 });
  try {
    await writeFile(file, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return (await readFile(file, 'utf8')).trim();
}

export function clientRedactor(secret: string | Uint8Array, settings?: RedactionSettings): Redactor {
  return new Redactor(redactionFingerprint(deriveRedactionKey(secret)), settings);
}

/**
 * The payload with its secrets replaced by markers, before it is sent or spooled: the same fields the ledger redacts.
 * An execution's output carries the digest and size of the output as it ran (`outputDigest`), so the ledger's stored
 * digest keeps covering the original bytes. Deterministic: a resent command is the same command.
 */
export function redactPayload<N extends LedgerCommandName>(
  name: N,
  payload: LedgerCommandPayload<N>,
  redactor: Redactor,
): LedgerCommandPayload<N> {
  const redact = new FieldRedactions(redactor);
  switch (name) {
    case 'logExecution': {
      const execution = payload as LedgerCommandPayload<'logExecution'>;
      const output = redact.text('output', execution.output);
      const redacted: LedgerCommandPayload<'logExecution'> = {
        ...execution,
        command: redact.text('command', execution.command),
        output,
        artifacts: execution.artifacts.map((artifact, index) => ({
          ...artifact,
          path: redact.text(`artifacts[${index}].path`, artifact.path),
        })),
      };
      if (output !== execution.output && execution.outputDigest === undefined) {
        redacted.outputDigest = { sha256: sha256Hex(execution.output), bytes: Buffer.byteLength(execution.output) };
      }
      return redacted as LedgerCommandPayload<N>;
    }
    case 'grantApproval': {
      const grant = payload as LedgerCommandPayload<'grantApproval'>;
      return {
        ...grant,
        instruction: redact.text('instruction', grant.instruction),
        approvedCommands: redact.texts('approvedCommands', grant.approvedCommands),
      } as LedgerCommandPayload<N>;
    }
    case 'rejectApproval': {
      const reject = payload as LedgerCommandPayload<'rejectApproval'>;
      const instruction = redact.optionalText('instruction', reject.instruction);
      return {
        ...reject,
        reason: redact.text('reason', reject.reason),
        ...(instruction === undefined ? {} : { instruction }),
      } as LedgerCommandPayload<N>;
    }
    default: {
      const revoke = payload as LedgerCommandPayload<'revokeApproval'>;
      return { ...revoke, reason: redact.text('reason', revoke.reason) } as LedgerCommandPayload<N>;
    }
  }
}
