import { Option, type Command } from 'commander';
import { readFileSync } from 'node:fs';
import { CliFailure } from '../shared/cli-failure.js';
import type { CliIo } from '../shared/cli-io.js';
import { EXIT_CODES } from '../shared/exit-codes.js';

/** Same code as `ledger verify`: the bundle was read and does not verify. */
const BUNDLE_FAILED_EXIT_CODE = 5;

/**
 * `ledger verify-bundle FILE [--keys-dir DIR] [--json]`: checks an evidence bundle offline, with no database: hash
 * links, checkpoint hashes and signatures, inclusion proofs against the signed roots, the manifest.
 */
export function registerVerifyBundle(program: Command, io: CliIo): void {
  program
    .command('verify-bundle')
    .description('check an evidence bundle offline (no database); exit 5 naming what is wrong')
    .argument('<file>', 'the bundle written by ledger export evidence')
    .addOption(
      new Option(
        '--keys-dir <dir>',
        'trust only the *.pub keys of this directory (default: the keys the bundle carries; compare their ids)',
      ),
    )
    .option('--json', 'print the report as JSON', false)
    .action(async (file: string, flags: { keysDir?: string; json: boolean }) => {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (error) {
        throw new CliFailure(EXIT_CODES.failure, `cannot read ${file}: ${(error as Error).message}`);
      }
      const { verifyEvidenceBundle, readPublicKeyRing } = await import('@audit-ledger/evidence');
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (error) {
        io.out(`FAILED: malformed: ${file} is not JSON (${(error as Error).message})\n`);
        throw new CliFailure(BUNDLE_FAILED_EXIT_CODE, 'the evidence bundle does not verify');
      }
      const report = verifyEvidenceBundle(
        parsed,
        flags.keysDir !== undefined ? { trustedKeys: readPublicKeyRing(flags.keysDir) } : {},
      );
      if (flags.json) {
        io.out(`${JSON.stringify(report, null, 2)}\n`);
      } else if (report.ok) {
        const scope = report.range ? `positions ${report.range[0]}..${report.range[1]}` : report.streamId;
        io.out(
          `OK: ${scope}: ${report.eventsChecked} events (${report.sealedEvents} sealed, ` +
            `${report.unsealedEvents} not yet sealed), ${report.checkpointsChecked} checkpoints signed by ` +
            `${report.keyIds.join(', ') || 'no key'}\n`,
        );
      } else {
        const [first, ...rest] = report.problems;
        io.out(
          `FAILED${first!.position ? ` at position ${first!.position}` : ''}: ${first!.kind}: ${first!.message}\n`,
        );
        for (const problem of rest) {
          io.out(`  also${problem.position ? ` at ${problem.position}` : ''}: ${problem.kind}: ${problem.message}\n`);
        }
      }
      if (!report.ok) throw new CliFailure(BUNDLE_FAILED_EXIT_CODE, 'the evidence bundle does not verify');
      if (report.unsealedEvents > 0 && !flags.json) {
        io.err(`warning: ${report.unsealedEvents} events are not yet sealed: only their hash chain is checked\n`);
      }
    });
}
