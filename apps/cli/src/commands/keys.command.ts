import type { Command } from 'commander';
import { join } from 'node:path';
import type { CliIo } from '../shared/cli-io.js';

/** `ledger keys generate`: a new Ed25519 checkpoint-signing keypair (docs/integrity.md, key rotation). */
export function registerKeys(program: Command, io: CliIo): void {
  const keys = program.command('keys').description('checkpoint signing keys');
  keys
    .command('generate')
    .description('write a new Ed25519 keypair: <keyId>.key (PKCS#8 PEM, mode 0600) and <keyId>.pub (SPKI PEM)')
    .option('--out <dir>', 'directory to write to (default: $LEDGER_DATA_DIR/keys)')
    .action(async (flags: { out?: string }) => {
      const { writeKeyPair } = await import('@audit-ledger/ledger');
      const dir = flags.out ?? join(process.env.LEDGER_DATA_DIR ?? './data', 'keys');
      const written = writeKeyPair(dir);
      io.out(
        `key id ${written.keyId}\nprivate key ${written.privateFile} (sign with LEDGER_SIGNING_KEY_FILE=${written.privateFile})\n` +
          `public key ${written.publicFile} (keep it in LEDGER_VERIFY_KEYS_DIR after rotating)\n`,
      );
    });
}
