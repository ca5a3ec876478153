import { readFileSync } from 'node:fs';
import { Redactor, redactionSettingsOf } from '@audit-ledger/domain';
import { deriveRedactionKey, redactionFingerprint } from '@audit-ledger/integrity';
import { InvalidConfigError, type LedgerConfig } from '../config/ledger.config.js';

type RedactionConfig = Pick<LedgerConfig, 'redactionRulesFile' | 'redactionDisable' | 'redactionAllow'>;

/**
 * The ledger's Redactor: the built-in rules plus configuration, markers keyed by a key derived (HKDF) from the token
 * HMAC secret, so one secret serves both and a marker cannot be compared with a token hash.
 */
export function ledgerRedactor(config: RedactionConfig, tokenSecret: string): Redactor {
  try {
    const file = config.redactionRulesFile
      ? (JSON.parse(readFileSync(config.redactionRulesFile, 'utf8')) as unknown)
      : undefined;
    const settings = redactionSettingsOf({ file, disable: config.redactionDisable, allow: config.redactionAllow });
    return new Redactor(redactionFingerprint(deriveRedactionKey(tokenSecret)), settings);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new InvalidConfigError(
      `Invalid configuration: LEDGER_REDACTION_RULES_FILE / LEDGER_REDACTION_DISABLE / LEDGER_REDACTION_ALLOW: ${detail}`,
    );
  }
}
