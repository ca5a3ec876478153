import { InvalidArgumentError, type Command } from 'commander';
import { writeFileSync } from 'node:fs';
import { CliFailure } from '../shared/cli-failure.js';
import type { CliIo } from '../shared/cli-io.js';
import { EXIT_CODES } from '../shared/exit-codes.js';
import { getLedgerJson } from './replay.http-client.js';

interface ExportFlags {
  approval?: string;
  stream?: string;
  out?: string;
}

const nonEmpty = (value: string): string => {
  if (!value.trim()) throw new InvalidArgumentError('must not be empty');
  return value;
};

/**
 * `ledger export evidence --approval <id> [--out FILE]`: fetches the evidence bundle of a stream over the HTTP API
 * (`GET /v1/evidence`) and writes it as one JSON file; `ledger verify-bundle FILE` checks it offline.
 */
export function registerExportEvidence(program: Command, io: CliIo): void {
  const exportCommand =
    program.commands.find((command) => command.name() === 'export') ??
    program.command('export').description('export audit data');
  exportCommand
    .command('evidence')
    .description('write an evidence bundle: events, covering checkpoints, Merkle inclusion proofs, public keys')
    .option('--approval <id>', 'the approval whose stream to export', nonEmpty)
    .option('--stream <stream>', 'any stream id instead of an approval', nonEmpty)
    .option('--out <file>', 'where to write the bundle (default: stdout)')
    .action(async (flags: ExportFlags, command: Command) => {
      if ((flags.approval === undefined) === (flags.stream === undefined)) {
        throw new CliFailure(EXIT_CODES.badInput, 'give exactly one of --approval or --stream');
      }
      const query =
        flags.approval !== undefined
          ? `approvalId=${encodeURIComponent(flags.approval)}`
          : `streamId=${encodeURIComponent(flags.stream!)}`;
      const bundle = (await getLedgerJson(
        command,
        `/v1/evidence?${query}`,
        flags.approval !== undefined ? `approval ${flags.approval}` : `stream ${flags.stream}`,
      )) as { manifest?: { eventCount?: number; sealedEvents?: number; unsealedEvents?: number } };
      const text = `${JSON.stringify(bundle, null, 2)}\n`;
      if (flags.out) {
        writeFileSync(flags.out, text);
        const m = bundle.manifest ?? {};
        io.err(
          `wrote ${flags.out}: ${m.eventCount ?? '?'} events, ${m.sealedEvents ?? '?'} sealed` +
            (m.unsealedEvents ? `, ${m.unsealedEvents} NOT YET SEALED (after the last checkpoint)` : '') +
            '\n',
        );
      } else {
        io.out(text);
      }
    });
}
