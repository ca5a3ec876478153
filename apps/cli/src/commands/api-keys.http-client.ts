import { localDataDir } from '@audit-ledger/client';
import type { Command } from 'commander';
import { CliFailure } from '../shared/cli-failure.js';
import { connectionOf } from '../shared/connection-options.js';
import { credentialFor } from '../shared/credential.js';
import { EXIT_CODES } from '../shared/exit-codes.js';
import { answeredWith, errorOf } from './replay.http-client.js';

/**
 * The admin credential of `ledger keys issue|list|rotate|revoke`: `--api-key`, else LEDGER_API_KEY, else the admin key
 * of the local credentials file (`$LEDGER_DATA_DIR/credentials`, written by the ledger's first start).
 */
export function adminCredential(command: Command): string {
  const key = credentialFor(command, 'admin');
  if (key) return key;
  throw new CliFailure(
    EXIT_CODES.badInput,
    `no admin credential: pass --api-key or set LEDGER_API_KEY (no admin key in ${localDataDir()}/credentials)`,
  );
}

/** Calls the ledger's key administration over HTTP with the admin credential; a non-2xx answer is a CliFailure. */
export async function callKeysApi(
  command: Command,
  credential: string,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<unknown> {
  const { host, httpPort } = connectionOf(command);
  const response = await fetch(`http://${host}:${httpPort}/v1/principals/keys${path}`, {
    method,
    headers: {
      authorization: `Bearer ${credential}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  }).catch((error: unknown) => {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
    throw new CliFailure(EXIT_CODES.failure, `the ledger's HTTP API at ${host}:${httpPort} does not answer (${cause})`);
  });
  const answer: unknown = await response.json().catch(() => undefined);
  if (response.ok) return answer;
  const error = errorOf(answer);
  const message = `the ledger answered ${error?.code ?? `HTTP ${response.status}`}: ${error?.message ?? ''}`;
  if (response.status === 404) throw new CliFailure(EXIT_CODES.notFound, message);
  if (response.status === 400) throw new CliFailure(EXIT_CODES.badInput, message, issuesOf(error));
  if (response.status === 409 || response.status === 401 || response.status === 403) {
    throw new CliFailure(EXIT_CODES.refused, message);
  }
  throw answeredWith(response.status, error);
}

const issuesOf = (error: ReturnType<typeof errorOf>): string[] =>
  (error?.issues ?? []).map((issue) => `${issue.path || '(request)'}: ${issue.message}`);
