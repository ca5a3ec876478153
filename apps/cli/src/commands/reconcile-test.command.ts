import { readFileSync, writeFileSync } from 'node:fs';
import {
  caseSetReport,
  CaseFileError,
  parseCaseLines,
  predictCases,
  RECONCILER_VERSION,
  scoreCaseSet,
  type ReconciliationCase,
} from '@audit-ledger/domain';
import type { Command } from 'commander';
import { CliFailure } from '../shared/cli-failure.js';
import type { CliIo } from '../shared/cli-io.js';
import { EXIT_CODES } from '../shared/exit-codes.js';

interface ReconcileTestFlags {
  predictions?: string;
}

/**
 * `ledger reconcile test CASES.jsonl [--predictions OUT.jsonl] [--json]`: runs the current reconciler (offline, the
 * pure function the processor's decider calls) over labelled cases in the dev set's format and prints accuracy,
 * per-label precision/recall, dangerous MISMATCH recall and the confusion matrix, for all cases and for the
 * plain-language-only rows separately. Exits 2 on an unreadable or malformed file (naming the line).
 */
export function registerReconcileTest(reconcile: Command, io: CliIo): void {
  reconcile
    .command('test')
    .description('score the current reconciler on a file of labelled cases (JSON Lines); needs no ledger')
    .argument('<cases>', 'JSON Lines file: {id, instruction, approved_commands, executed, label, kind} per line')
    .option('--predictions <file>', 'write {id, label, kinds, explanation} per case to this JSON Lines file')
    .option('--json', 'print the scores as JSON', false)
    .action((file: string, flags: ReconcileTestFlags, command: Command) => {
      // `--json` is also an option of `reconcile` itself, which takes it first wherever it stands.
      const json = command.optsWithGlobals<{ json?: boolean }>().json === true;
      const cases = readCases(file);
      const predictions = predictCases(cases);
      const score = scoreCaseSet(
        cases,
        predictions.map((p) => p.label),
      );
      if (flags.predictions !== undefined) {
        const text = predictions.map((p) => JSON.stringify(p)).join('\n');
        try {
          writeFileSync(flags.predictions, `${text}\n`);
        } catch (error) {
          throw new CliFailure(EXIT_CODES.failure, `cannot write ${flags.predictions}: ${(error as Error).message}`);
        }
      }
      if (json) {
        io.out(`${JSON.stringify({ reconcilerVersion: RECONCILER_VERSION, file, ...score }, null, 2)}\n`);
        return;
      }
      io.out(
        `Reconciler ${RECONCILER_VERSION} on ${cases.length} cases of ${file}\n\n` +
          `${caseSetReport(score, { families: true })}\n` +
          (flags.predictions !== undefined
            ? `\nwrote ${predictions.length} predictions to ${flags.predictions}\n`
            : ''),
      );
    });
}

function readCases(file: string): ReconciliationCase[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new CliFailure(EXIT_CODES.badInput, `cannot read ${file}: ${(error as Error).message}`);
  }
  let cases: ReconciliationCase[];
  try {
    cases = parseCaseLines(text);
  } catch (error) {
    if (error instanceof CaseFileError) {
      throw new CliFailure(EXIT_CODES.badInput, `invalid case file ${file}`, [error.message]);
    }
    throw error;
  }
  if (cases.length === 0) throw new CliFailure(EXIT_CODES.badInput, `invalid case file ${file}`, ['it holds no cases']);
  return cases;
}
