import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { CliFailure } from '../shared/cli-failure.js';
import { connectionOf } from '../shared/connection-options.js';
import { ledgerFetch, ledgerHttpBase } from '../shared/ledger-http.js';
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

/** Starts a GET on the ledger's HTTP API (the body is not read yet); an unreachable ledger becomes a CliFailure. */
export async function openLedgerGet(command: Command, path: string): Promise<Response> {
  const connection = connectionOf(command);
  const base = ledgerHttpBase(connection);
  return ledgerFetch(connection, `${base}${path}`, { headers: { 'x-ledger-actor': actorName() } }).catch(
    (error: unknown) => {
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
      throw new CliFailure(EXIT_CODES.failure, `the ledger's HTTP API at ${base} does not answer (${cause})`);
    },
  );
}

/** The ledger's error body (`{ error: { code, message, issues? } }`), or undefined when the body is something else. */
export interface LedgerErrorBody {
  code?: string;
  message?: string;
  issues?: { path: string; message: string }[];
}
export const errorOf = (body: unknown): LedgerErrorBody | undefined => (body as { error?: LedgerErrorBody })?.error;

/** GETs a path of the ledger's HTTP API and returns its JSON body; a non-2xx answer becomes a CliFailure. */
export async function getLedgerJson(command: Command, path: string, what: string): Promise<unknown> {
  const response = await openLedgerGet(command, path);
  const body: unknown = await response.json().catch(() => undefined);
  if (response.ok) return body;
  const error = errorOf(body);
  if (response.status === 404) throw new CliFailure(EXIT_CODES.notFound, `${what} not found`);
  if (response.status === 400) {
    throw new CliFailure(EXIT_CODES.badInput, `invalid ${what} request: ${error?.message ?? 'HTTP 400'}`);
  }
  throw answeredWith(response.status, error);
}

/** A non-2xx answer other than 400/404: exit 1 with the ledger's code and message. */
export function answeredWith(status: number, error: LedgerErrorBody | undefined): CliFailure {
  return new CliFailure(
    EXIT_CODES.failure,
    `the ledger answered ${error?.code ?? `HTTP ${status}`}${error?.message ? `: ${error.message}` : ''}`,
  );
}
