import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidConfigError, loadConfig } from '../config/ledger.config.js';
import { ledgerRedactor } from './ledger-redactor.js';

describe('the ledger redactor from configuration', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ledger-redaction-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const rulesFile = (content: string) => {
    const file = join(dir, `rules-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(file, content);
    return file;
  };

  it('reads added rules, disabled rules and allowed secrets from the file and the environment', () => {
    const config = loadConfig(
      {},
      {
        LEDGER_REDACTION_RULES_FILE: rulesFile(
          JSON.stringify({ rules: [{ name: 'acme-key', pattern: 'acme_[a-z0-9]{12}' }], allow: ['/ghp_0{36}/'] }),
        ),
        LEDGER_REDACTION_DISABLE: 'aws-access-key, jwt',
        LEDGER_REDACTION_ALLOW: 'glpat-AAAAAAAAAAAAAAAAAAAA',
      },
    );
    const redactor = ledgerRedactor(config, 'token-secret-0123456789');
    expect(redactor.ruleNames).toContain('acme-key');
    expect(redactor.ruleNames).not.toContain('aws-access-key');
    expect(redactor.ruleNames).not.toContain('jwt');
    const text = `acme_abcdef123456 AKIAZ7QX3M4P2LRT5NWE ghp_${'0'.repeat(36)} glpat-AAAAAAAAAAAAAAAAAAAA`;
    expect(redactor.redact(text).counts).toEqual([{ rule: 'acme-key', count: 1 }]);
  });

  it('derives its marker key from the token secret: another secret, other markers', () => {
    const config = loadConfig({}, {});
    const token = `ghp_${'aB3'.repeat(12)}`;
    const one = ledgerRedactor(config, 'token-secret-0123456789').redact(token).text;
    expect(ledgerRedactor(config, 'token-secret-0123456789').redact(token).text).toBe(one);
    expect(ledgerRedactor(config, 'another-secret-98765432').redact(token).text).not.toBe(one);
  });

  it('refuses a rules file that is not valid, naming the variables', () => {
    for (const content of ['{not json', JSON.stringify({ rules: [{ name: 'Bad Name', pattern: 'x' }] })]) {
      const config = loadConfig({ redactionRulesFile: rulesFile(content) }, {});
      expect(() => ledgerRedactor(config, 'token-secret-0123456789')).toThrow(InvalidConfigError);
      expect(() => ledgerRedactor(config, 'token-secret-0123456789')).toThrow(/LEDGER_REDACTION_RULES_FILE/);
    }
  });
});
