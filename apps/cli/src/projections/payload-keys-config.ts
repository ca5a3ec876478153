import type { PayloadKeysConfig } from '@audit-ledger/payload-keys';

/**
 * The payload keys a projections command opens, from the variables the ledger reads: the master key
 * (LEDGER_PAYLOAD_MASTER_KEY, else the one in LEDGER_DATA_DIR, default ./data). It only opens sealed fields, so what
 * the ledger seals (LEDGER_ENCRYPT_*) does not matter here.
 */
export function payloadKeysConfigFromEnvironment(env: NodeJS.ProcessEnv = process.env): PayloadKeysConfig {
  return {
    dataDir: env['LEDGER_DATA_DIR'] || './data',
    payloadMasterKey: env['LEDGER_PAYLOAD_MASTER_KEY'] || undefined,
    encryptOutputs: false,
    encryptCommands: false,
  };
}
