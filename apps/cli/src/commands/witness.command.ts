import { Option, type Command } from 'commander';
import { readFileSync } from 'node:fs';
import { CliFailure } from '../shared/cli-failure.js';
import type { CliIo } from '../shared/cli-io.js';
import { EXIT_CODES } from '../shared/exit-codes.js';

interface ServeFlags {
  dir: string;
  port: string;
  host: string;
  tokenFile?: string;
  keysDir?: string;
}

/**
 * `ledger witness serve`: an HTTP witness that keeps the ledger's checkpoints append-only in `DIR/checkpoints.jsonl`
 * and never accepts a fork (docs/integrity.md §5, docs/operations.md). Runs until SIGINT/SIGTERM.
 */
export function registerWitness(program: Command, io: CliIo): void {
  const witness = program.command('witness').description("an external witness of the ledger's checkpoints");
  witness
    .command('serve')
    .description('serve an HTTP witness: POST /checkpoints, POST /rollbacks, GET /checkpoints/latest')
    .requiredOption('--dir <dir>', 'directory of the witness log (checkpoints.jsonl, mode 0600)')
    .option('--port <port>', 'TCP port to listen on', '8090')
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .addOption(
      new Option('--token-file <file>', 'require `Authorization: Bearer <contents of the file>`').env(
        'LEDGER_WITNESS_TOKEN_FILE',
      ),
    )
    .option('--keys-dir <dir>', 'accept only checkpoints and acknowledgements signed by a *.pub key of this directory')
    .action(async (flags: ServeFlags) => {
      const port = Number(flags.port);
      if (!Number.isInteger(port) || port < 0 || port > 65_535) {
        throw new CliFailure(EXIT_CODES.badInput, `invalid --port ${flags.port}: a TCP port 0..65535`);
      }
      const { startWitnessServer, readPublicKeyRing } = await import('@audit-ledger/evidence');
      const token = flags.tokenFile ? readFileSync(flags.tokenFile, 'utf8').trim() : process.env.LEDGER_WITNESS_TOKEN;
      const keys = flags.keysDir ? readPublicKeyRing(flags.keysDir) : undefined;
      if (keys && keys.size === 0) throw new CliFailure(EXIT_CODES.badInput, `no *.pub keys in ${flags.keysDir}`);
      const server = await startWitnessServer({
        dir: flags.dir,
        port,
        host: flags.host,
        token: token || undefined,
        keys,
        log: (line) => io.err(`witness: ${line}\n`),
      });
      io.err(`witness: listening on ${server.url}, log ${server.file}; SIGINT or SIGTERM stops it\n`);
      const signal = await new Promise<string>((resolve) => {
        for (const name of ['SIGINT', 'SIGTERM'] as const) process.once(name, () => resolve(name));
      });
      await server.close();
      io.err(`witness: ${signal}, closed\n`);
    });
}
