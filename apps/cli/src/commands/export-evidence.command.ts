import { InvalidArgumentError, type Command } from 'commander';
import { writeFileSync } from 'node:fs';
import { CliFailure } from '../shared/cli-failure.js';
import type { CliIo } from '../shared/cli-io.js';
import { EXIT_CODES } from '../shared/exit-codes.js';
import { getLedgerJson } from './replay.http-client.js';

/** Whose evidence: an approval's stream, any stream by id, or a global-position range of all streams. */
type EvidenceSource = { approval: string } | { stream: string } | { from: string; to: string };

const nonEmpty = (value: string): string => {
  if (!value.trim()) throw new InvalidArgumentError('must not be empty');
  return value;
};

const position = (value: string): string => {
  if (!/^[1-9]\d{0,18}$/.test(value)) throw new InvalidArgumentError('must be a global position (1, 2, …)');
  return value;
};

/**
 * `ledger export approval <id> [--out FILE]` (the documented form) and `ledger export evidence (--approval <id> |
 * --stream <s> | --from <p> --to <p>) [--out FILE]`: fetch the evidence bundle of a stream or of a global-position
 * range over the HTTP API (`GET /v1/evidence`: the raw events with their hashes, covering checkpoints, Merkle
 * inclusion proofs, public keys) and write it as one JSON file; `ledger verify-bundle FILE` checks it offline.
 */
export function addEvidenceExports(exportCommand: Command, io: CliIo): void {
  exportCommand
    .command('approval')
    .description('full-fidelity evidence of an approval: raw events with hashes, checkpoints, proofs, keys')
    .argument('<id>', 'the approval id', nonEmpty)
    .option('--out <file>', 'where to write the bundle (default: stdout)')
    .action((approval: string, flags: { out?: string }, command: Command) =>
      exportEvidence(command, io, { approval }, flags.out),
    );

  exportCommand
    .command('evidence')
    .description('write an evidence bundle: events, covering checkpoints, Merkle inclusion proofs, public keys')
    .option('--approval <id>', 'the approval whose stream to export', nonEmpty)
    .option('--stream <stream>', 'any stream id instead of an approval', nonEmpty)
    .option('--from <position>', 'first global position of a range (all streams; with --to)', position)
    .option('--to <position>', 'last global position of the range (inclusive)', position)
    .option('--out <file>', 'where to write the bundle (default: stdout)')
    .action(
      async (
        flags: { approval?: string; stream?: string; from?: string; to?: string; out?: string },
        command: Command,
      ) => {
        const range = flags.from !== undefined || flags.to !== undefined;
        const scopes = [flags.approval !== undefined, flags.stream !== undefined, range].filter(Boolean).length;
        if (scopes !== 1) {
          throw new CliFailure(EXIT_CODES.badInput, 'give exactly one of --approval, --stream, or --from with --to');
        }
        if (range && (flags.from === undefined || flags.to === undefined)) {
          throw new CliFailure(EXIT_CODES.badInput, '--from and --to go together');
        }
        if (range && BigInt(flags.from!) > BigInt(flags.to!)) {
          throw new CliFailure(EXIT_CODES.badInput, `--to ${flags.to} is below --from ${flags.from}`);
        }
        const source: EvidenceSource = range
          ? { from: flags.from!, to: flags.to! }
          : flags.approval !== undefined
            ? { approval: flags.approval }
            : { stream: flags.stream! };
        await exportEvidence(command, io, source, flags.out);
      },
    );
}

async function exportEvidence(command: Command, io: CliIo, source: EvidenceSource, out: string | undefined) {
  const [query, what] =
    'approval' in source
      ? [`approvalId=${encodeURIComponent(source.approval)}`, `approval ${source.approval}`]
      : 'stream' in source
        ? [`streamId=${encodeURIComponent(source.stream)}`, `stream ${source.stream}`]
        : [`from=${source.from}&to=${source.to}`, `positions ${source.from}..${source.to}`];
  const bundle = (await getLedgerJson(command, `/v1/evidence?${query}`, what, 'security')) as {
    manifest?: { eventCount?: number; sealedEvents?: number; unsealedEvents?: number };
  };
  const text = `${JSON.stringify(bundle, null, 2)}\n`;
  if (!out) {
    io.out(text);
    return;
  }
  writeFileSync(out, text);
  const m = bundle.manifest ?? {};
  io.err(
    `wrote ${out}: ${m.eventCount ?? '?'} events, ${m.sealedEvents ?? '?'} sealed` +
      (m.unsealedEvents ? `, ${m.unsealedEvents} NOT YET SEALED (after the last checkpoint)` : '') +
      '\n',
  );
}
