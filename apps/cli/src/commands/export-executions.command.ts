import { InvalidArgumentError, Option, type Command } from 'commander';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StringDecoder } from 'node:string_decoder';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { badInput, CliFailure } from '../shared/cli-failure.js';
import type { CliIo } from '../shared/cli-io.js';
import { EXIT_CODES } from '../shared/exit-codes.js';
import { progressBar } from '../shared/progress.js';
import { answeredWith, errorOf, openLedgerGet } from './replay.http-client.js';

const FORMATS = ['csv', 'json', 'jsonl'] as const;

interface ExecutionsExportFlags {
  format: (typeof FORMATS)[number];
  filter: [string, string][];
  out?: string;
}

/** `--filter key=value`, repeatable; the server's schema judges keys and values (and names them when it refuses). */
const collectFilter = (value: string, previous: [string, string][]): [string, string][] => {
  const at = value.indexOf('=');
  if (at <= 0) throw new InvalidArgumentError(`"${value}" is not key=value (e.g. riskLevel=destructive)`);
  const key = value.slice(0, at);
  if (key === 'format') throw new InvalidArgumentError('the format is given with --format');
  return [...previous, [key, value.slice(at + 1)]];
};

/**
 * `ledger export --format csv|json|jsonl [--filter key=value …] [--out FILE]` (also `ledger export executions …`):
 * streams `GET /v1/executions/export` to stdout or a file, chunk by chunk with backpressure, so memory stays flat
 * however many rows match. Filters are the execution list's (docs/api.md); the ledger validates them and a refusal
 * names the field and the reason (exit 2). A file is written as `FILE.partial` and renamed only once the whole
 * answer has arrived, so a cut-off export never leaves a file that looks complete.
 */
export function addExecutionsExport(exportCommand: Command, io: CliIo): void {
  exportCommand
    .command('executions', { isDefault: true })
    .description('stream executions from the read model as CSV (RFC 4180), a JSON array or JSON lines')
    .addOption(new Option('--format <format>', 'output format').choices(FORMATS).makeOptionMandatory())
    .addOption(
      new Option(
        '--filter <key=value>',
        'a filter of GET /v1/executions/export (repeatable): approvalId, sessionId, workerId, toolName, riskLevel, ' +
          'status, verdict, from, to, q, order, minPosition',
      )
        .argParser(collectFilter)
        .default([], 'none'),
    )
    .option('--out <file>', 'where to write the export (default: stdout)')
    .action(async (flags: ExecutionsExportFlags, command: Command) => {
      const query = new URLSearchParams([['format', flags.format], ...flags.filter]);
      const response = await openLedgerGet(command, `/v1/executions/export?${query}`, 'reader');
      if (!response.ok) throw await refusal(response);
      if (!response.body) throw new CliFailure(EXIT_CODES.failure, 'the ledger answered without a body');
      const body = Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
      const position = response.headers.get('x-ledger-position');
      if (!flags.out) {
        await copyOrFail(body, io.outStream ?? lineSink(io), false);
        return;
      }
      const partial = `${flags.out}.partial`;
      // Written to a file: kilobytes so far on a terminal's stderr (the total is not known before the end).
      const progress = progressBar(`exporting to ${flags.out}`, 'kB');
      let bytes = 0;
      const counter = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          bytes += chunk.length;
          progress.update(Math.round(bytes / 1024));
          done(null, chunk);
        },
      });
      try {
        await copyOrFail(body, createWriteStream(partial), true, counter).finally(() => progress.stop());
        await rename(partial, flags.out);
      } catch (error) {
        await rm(partial, { force: true });
        throw error;
      }
      io.err(`wrote ${flags.out} (${flags.format}) as of position ${position ?? '?'}\n`);
    });
}

async function copyOrFail(
  body: Readable,
  destination: NodeJS.WritableStream,
  end: boolean,
  through?: Transform,
): Promise<void> {
  await (through ? pipeline(body, through, destination, { end }) : pipeline(body, destination, { end })).catch(
    (error: unknown) => {
      throw new CliFailure(
        EXIT_CODES.failure,
        `the export was cut off before its end (${error instanceof Error ? error.message : String(error)})`,
      );
    },
  );
}

/** When the CLI runs in-process (tests), its output is the io's text sink. */
function lineSink(io: CliIo): Writable {
  const decoder = new StringDecoder('utf8'); // a character may straddle two chunks
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      io.out(decoder.write(chunk));
      done();
    },
    final(done) {
      io.out(decoder.end());
      done();
    },
  });
}

async function refusal(response: Response): Promise<CliFailure> {
  const error = errorOf(await response.json().catch(() => undefined));
  if (response.status === 400 && error?.issues) {
    const flags = Object.fromEntries(
      error.issues.map(({ path }) => [path, path === 'format' ? '--format' : `--filter ${path}=…`]),
    );
    return badInput('export request', error.issues, flags);
  }
  return answeredWith(response.status, error);
}
