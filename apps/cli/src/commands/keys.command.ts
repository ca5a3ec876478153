import type { ApiKeyList, IssuedApiKey } from '@audit-ledger/domain';
import type { Command } from 'commander';
import { join } from 'node:path';
import type { CliIo } from '../shared/cli-io.js';
import { adminCredential, callKeysApi } from './api-keys.http-client.js';

/** The admin key comes from the global `--api-key` / LEDGER_API_KEY, else the local credentials' admin key. */
type AdminFlags = object;

/**
 * `ledger keys`: API keys of principals (issue, list, rotate, revoke; docs/security.md), and `generate` for
 * checkpoint-signing keys (docs/integrity.md).
 */
export function registerKeys(program: Command, io: CliIo): void {
  const keys = program.command('keys').description('API keys of principals, and checkpoint signing keys');
  keys
    .command('generate')
    .description('write a new Ed25519 keypair: <keyId>.key (PKCS#8 PEM, mode 0600) and <keyId>.pub (SPKI PEM)')
    .option('--out <dir>', 'directory to write to (default: $LEDGER_DATA_DIR/keys)')
    .action(async (flags: { out?: string }) => {
      const { writeKeyPair } = await import('@audit-ledger/evidence');
      const dir = flags.out ?? join(process.env.LEDGER_DATA_DIR ?? './data', 'keys');
      const written = writeKeyPair(dir);
      io.out(
        `key id ${written.keyId}\nprivate key ${written.privateFile} (sign with LEDGER_SIGNING_KEY_FILE=${written.privateFile})\n` +
          `public key ${written.publicFile} (keep it in LEDGER_VERIFY_KEYS_DIR after rotating)\n`,
      );
    });

  keys
    .command('issue')
    .description('issue an API key for a principal: the key is printed once, the ledger keeps only its hash')
    .requiredOption('--name <name>', 'the key name (unique among active keys), e.g. gw-prod')
    .requiredOption('--role <role>', 'a role: gateway, reader, security or admin (repeatable)', collect, [])
    .action(async (flags: AdminFlags & { name: string; role: string[] }, command: Command) => {
      const issued = (await callKeysApi(command, adminCredential(command), 'POST', '', {
        name: flags.name,
        roles: flags.role,
      })) as IssuedApiKey;
      printIssued(io, issued);
    });

  keys
    .command('list')
    .description('every API key issued (active and revoked): never the key or its hash')
    .option('--json', 'print the list as JSON')
    .action(async (flags: AdminFlags & { json?: boolean }, command: Command) => {
      const list = (await callKeysApi(command, adminCredential(command), 'GET', '')) as ApiKeyList;
      if (flags.json) {
        io.out(`${JSON.stringify(list, null, 2)}\n`);
        return;
      }
      const rows = list.keys.map((key) => [
        key.keyId,
        key.name,
        key.roles.join(','),
        key.status,
        key.issuedAt,
        key.revokedAt ?? '',
      ]);
      io.out(table([['KEY ID', 'NAME', 'ROLES', 'STATUS', 'ISSUED', 'REVOKED'], ...rows]));
    });

  keys
    .command('rotate')
    .description('replace an API key: a new key with the same name and roles, the old one revoked at once')
    .argument('<keyId>', 'the key id (the part after alk_, as `ledger keys list` shows it)')
    .option('--reason <text>', 'why, recorded in the revocation of the old key')
    .action(async (keyId: string, flags: AdminFlags & { reason?: string }, command: Command) => {
      const issued = (await callKeysApi(
        command,
        adminCredential(command),
        'POST',
        `/${encodeURIComponent(keyId)}/rotate`,
        {
          ...(flags.reason ? { reason: flags.reason } : {}),
        },
      )) as IssuedApiKey;
      printIssued(io, issued);
    });

  keys
    .command('revoke')
    .description('revoke an API key: every ledger instance refuses it within a second')
    .argument('<keyId>', 'the key id (the part after alk_, as `ledger keys list` shows it)')
    .option('--reason <text>', 'why, recorded in the revocation event')
    .action(async (keyId: string, flags: AdminFlags & { reason?: string }, command: Command) => {
      await callKeysApi(command, adminCredential(command), 'POST', `/${encodeURIComponent(keyId)}/revoke`, {
        ...(flags.reason ? { reason: flags.reason } : {}),
      });
      io.out(`revoked ${keyId}\n`);
    });
}

function printIssued(io: CliIo, issued: IssuedApiKey): void {
  io.out(`${issued.key}\n`);
  io.err(
    `issued key ${issued.keyId} for ${issued.name} (${issued.roles.join(', ')})` +
      `${issued.rotatedFrom ? `, replacing ${issued.rotatedFrom} (now revoked)` : ''}.\n` +
      'Store this key now: it is shown only once; the ledger keeps only its hash.\n',
  );
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return (
    rows.map((row) => `${row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ')}`.trimEnd()).join('\n') +
    '\n'
  );
}
