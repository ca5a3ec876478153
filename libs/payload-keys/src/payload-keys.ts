import type { EventStore } from '@audit-ledger/event-store';
import pg from 'pg';
import { DecryptingEventStore } from './decrypting-event-store.js';
import { resolveMasterKey } from './master-key.js';
import { PayloadCipher } from './payload-cipher.js';
import { PayloadErasure } from './payload-erasure.js';
import { StreamKeys } from './stream-keys.js';

export interface PayloadKeysConfig {
  dataDir: string;
  payloadMasterKey?: string | undefined;
  encryptOutputs: boolean;
  encryptCommands: boolean;
}

export interface PayloadKeys {
  cipher: PayloadCipher;
  erasure: PayloadErasure;
  /** `store` as readers of content see it: sealed fields opened, erased ones `[erased]`. */
  decrypting(store: EventStore): EventStore;
  close(): Promise<void>;
}

/**
 * The data keys of a ledger database (schema `ledger_keys`, built here on the owner's connection) under the master
 * key of the configuration or the data directory: what the ledger, `ledger projections rebuild` and `retry-parked`
 * open to read sealed fields.
 */
export async function openPayloadKeys(
  databaseUrl: string,
  config: PayloadKeysConfig,
  options: { generateMasterKey: boolean } = { generateMasterKey: true },
): Promise<PayloadKeys> {
  const masterKey = options.generateMasterKey
    ? resolveMasterKey(config.payloadMasterKey, config.dataDir)
    : resolveMasterKey(config.payloadMasterKey, config.dataDir, false);
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 4 });
  pool.on('error', () => undefined); // an idle connection ended by the server: the next query reconnects
  try {
    const keys = new StreamKeys(pool, masterKey);
    await keys.ensureSchema();
    const cipher = new PayloadCipher(keys, { output: config.encryptOutputs, command: config.encryptCommands });
    return {
      cipher,
      erasure: new PayloadErasure(pool, keys, cipher.sealedFields),
      decrypting: (store) => new DecryptingEventStore(store, cipher),
      close: () => {
        keys.close();
        return pool.end();
      },
    };
  } catch (error) {
    await pool.end();
    throw error;
  }
}
