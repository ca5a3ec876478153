import type { Role } from '@audit-ledger/domain';
import type { Command } from 'commander';
import { CliFailure } from '../shared/cli-failure.js';
import { connectionOf } from '../shared/connection-options.js';
import { authorizationFor, CREDENTIAL_HINT } from '../shared/credential.js';
import { ledgerFetch, ledgerHttpBase } from '../shared/ledger-http.js';
import { EXIT_CODES } from '../shared/exit-codes.js';

/**
 * Starts a GET on the ledger's HTTP API (the body is not read yet) with the credential of the role it needs (the
 * ledger records the read under that principal); an unreachable ledger becomes a CliFailure.
 */
export async function openLedgerGet(command: Command, path: string, role: Role): Promise<Response> {
  const connection = connectionOf(command);
  const base = ledgerHttpBase(connection);
  return ledgerFetch(connection, `${base}${path}`, { headers: authorizationFor(command, role) }).catch(
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
export async function getLedgerJson(command: Command, path: string, what: string, role: Role): Promise<unknown> {
  const response = await openLedgerGet(command, path, role);
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
    `the ledger answered ${error?.code ?? `HTTP ${status}`}${error?.message ? `: ${error.message}` : ''}` +
      (status === 401 ? ` (${CREDENTIAL_HINT})` : ''),
  );
}
