import { PRINCIPALS_STREAM, type IssuedApiKey } from '@audit-ledger/domain';
import type { EventStore } from '@audit-ledger/event-store';
import { resolve } from 'node:path';
import type { ApiKeyAdmin, KeyRequest } from './api-key-admin.js';
import { prepareCredentialsFile, type PendingCredentialsFile } from './local-credentials-file.js';

/** The keys a ledger with no principals creates on its first start (docs/security.md, "Secure by default"). */
export const LOCAL_KEYS: readonly KeyRequest[] = [
  { name: 'local-admin', roles: ['admin'] },
  { name: 'local-gateway', roles: ['gateway'] },
  { name: 'local-security', roles: ['security'] },
];

export const BOOTSTRAP_ACTOR = 'system:bootstrap';

export type BootstrapOutcome = 'created' | 'exists' | 'created-by-another-instance';

/**
 * When the `principals` stream is empty: issues the local keys in one append that expects no stream (of two instances
 * starting together on one database, exactly one succeeds) and writes them to `$LEDGER_DATA_DIR/credentials` (0600).
 */
export async function bootstrapLocalKeys(
  store: EventStore,
  admin: ApiKeyAdmin,
  dataDir: string,
  logger: { info(fields: object, message: string): void },
): Promise<BootstrapOutcome> {
  if (await store.streamExists(PRINCIPALS_STREAM)) return 'exists';
  // The file is written (as a temporary file, 0600) before the keys are appended and renamed into place after: the
  // admin key is never recorded without being kept somewhere.
  let pending: PendingCredentialsFile | undefined;
  let issued: IssuedApiKey[] | undefined;
  try {
    issued = await admin.bootstrap(LOCAL_KEYS, BOOTSTRAP_ACTOR, (keys) => {
      pending = prepareCredentialsFile(dataDir, keys);
    });
  } catch (error) {
    pending?.discard();
    throw error;
  }
  if (!issued || !pending) {
    pending?.discard();
    logger.info(
      { stream: PRINCIPALS_STREAM },
      'another ledger instance created the first API keys at the same time; their credentials file is in its data directory',
    );
    return 'created-by-another-instance';
  }
  const file = pending;
  const replaced = file.commit();
  logger.info(
    { file: resolve(file.path), ...(replaced ? { replaced: resolve(replaced) } : {}) },
    `first start: created the API keys ${issued.map((key) => `${key.name} (${key.roles.join(', ')})`).join(', ')} ` +
      `in ${resolve(file.path)} (mode 0600${replaced ? `; the file that was there is now ${resolve(replaced)}` : ''}); ` +
      'the CLI and client use them from this checkout, `ledger keys issue` makes more (docs/security.md)',
  );
  return 'created';
}
