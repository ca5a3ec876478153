import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { CliFailure } from '../shared/cli-failure.js';
import { connectionOf } from '../shared/connection-options.js';
import { EXIT_CODES } from '../shared/exit-codes.js';

/** Who reads, for the ledger's audit of reads (`x-ledger-actor`): LEDGER_ACTOR, else the OS user. */
export function actorName(): string {
  if (process.env.LEDGER_ACTOR) return process.env.LEDGER_ACTOR;
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return 'cli';
  }
}

/** GETs a path of the ledger's HTTP API and returns its JSON body; a non-2xx answer becomes a CliFailure. */
export async function getLedgerJson(command: Command, path: string, what: string): Promise<unknown> {
  const { host, httpPort } = connectionOf(command);
  const url = `http://${host}:${httpPort}${path}`;
  const response = await fetch(url, { headers: { 'x-ledger-actor': actorName() } }).catch((error: unknown) => {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
    throw new CliFailure(EXIT_CODES.failure, `the ledger's HTTP API at ${host}:${httpPort} does not answer (${cause})`);
  });
  const body: unknown = await response.json().catch(() => undefined);
  if (response.ok) return body;
  const error = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
  if (response.status === 404) throw new CliFailure(EXIT_CODES.notFound, `${what} not found`);
  if (response.status === 400) {
    throw new CliFailure(EXIT_CODES.badInput, `invalid ${what} request: ${error?.message ?? 'HTTP 400'}`);
  }
  throw new CliFailure(
    EXIT_CODES.failure,
    `the ledger answered ${error?.code ?? `HTTP ${response.status}`}${error?.message ? `: ${error.message}` : ''}`,
  );
}
