import fc from 'fast-check';
import { parseCommandLine } from '../reconciliation/shell-parser.js';
import { redactionSettingsOf } from './redaction-config.js';
import { LOOK_ALIKES, SECRET_CASES, alnum } from './redaction.fixtures.js';
import { BUILT_IN_REDACTION_RULES } from './redaction-rules.js';
import { InvalidRedactionRuleError, Redactor, type SecretFingerprint } from './redactor.js';

/** A stand-in keyed digest (the real one is an HMAC in libs/integrity): FNV-1a over key and secret. */
const testFingerprint =
  (key: string): SecretFingerprint =>
  (secret) => {
    let hash = 0x811c9dc5;
    for (const char of key + '\u0000' + secret) hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193) >>> 0;
    return hash.toString(16).padStart(8, '0');
  };
const redactor = new Redactor(testFingerprint('k1'));

/** Every substring of `secret` of `length` characters. */
const fragments = (secret: string, length = 8) =>
  Array.from({ length: Math.max(0, secret.length - length + 1) }, (_, i) => secret.slice(i, i + length));

describe('redaction of real-format secrets', () => {
  it('has at least 30 secrets and 30 look-alikes to try', () => {
    expect(SECRET_CASES.length).toBeGreaterThanOrEqual(30);
    expect(LOOK_ALIKES.length).toBeGreaterThanOrEqual(30);
  });

  it.each(SECRET_CASES.map((c) => [c.label, c] as const))('redacts %s', (_label, { text, secret, rule }) => {
    const { text: redacted, counts } = redactor.redact(text);
    expect(redacted).not.toContain(secret);
    expect(fragments(secret).filter((fragment) => redacted.includes(fragment))).toEqual([]);
    expect(redacted).toMatch(new RegExp(`\\[REDACTED:${rule}:[0-9a-f]{8}\\]`));
    expect(counts).toContainEqual({ rule, count: 1 });
  });

  it.each(LOOK_ALIKES.map((text) => [text.slice(0, 60), text] as const))('leaves alone %s', (_label, text) => {
    expect(redactor.redact(text)).toEqual({ text, counts: [] });
  });

  it('keeps every command parseable by the reconciler, with the same simple commands', () => {
    // A multi-line private key was several "commands" before; as one marker it is one word.
    for (const { text, secret } of SECRET_CASES.filter((c) => !c.secret.includes('\n'))) {
      const before = parseCommandLine(text);
      const after = parseCommandLine(redactor.redact(text).text);
      expect({ text, errors: after.errors.length > 0 }).toEqual({ text, errors: before.errors.length > 0 });
      const utilities = (commands: readonly { utility: string }[]) =>
        commands.map((c) =>
          c.utility.includes('[REDACTED:') || fragments(secret).some((f) => c.utility.includes(f))
            ? '<secret>'
            : c.utility,
        );
      expect(utilities(after.commands)).toEqual(utilities(before.commands));
    }
  });

  it('keeps the readable part around the secret', () => {
    const { text } = redactor.redact('AWS_SECRET_ACCESS_KEY=' + 'a1B2'.repeat(10) + ' aws s3 ls');
    expect(text).toMatch(/^AWS_SECRET_ACCESS_KEY=\[REDACTED:aws-secret-key:[0-9a-f]{8}\] aws s3 ls$/);
  });
});

describe('markers', () => {
  const token = `ghp_${alnum(36)}`;

  it('carry the keyed digest of the secret', () => {
    expect(redactor.redact(`x ${token} y`).text).toBe(`x [REDACTED:github-token:${testFingerprint('k1')(token)}] y`);
  });

  it('correlate equal secrets and tell different ones apart', () => {
    const { text } = redactor.redact(`${token} then ${token} then ghp_${alnum(36)}`);
    const markers = text.match(/\[REDACTED:[^\]]+\]/g)!;
    expect(markers).toHaveLength(3);
    expect(markers[0]).toBe(markers[1]);
    expect(markers[2]).not.toBe(markers[0]);
  });

  it('depend on the key', () => {
    const other = new Redactor(testFingerprint('k2'));
    expect(other.redact(token).text).not.toBe(redactor.redact(token).text);
  });
});

describe('configuration', () => {
  it('adds a rule', () => {
    const custom = new Redactor(
      testFingerprint('k1'),
      redactionSettingsOf({ file: { rules: [{ name: 'acme-key', pattern: 'acme_[a-z0-9]{12}' }] } }),
    );
    expect(custom.redact('key acme_abcdef123456 used').text).toMatch(/^key \[REDACTED:acme-key:[0-9a-f]{8}\] used$/);
  });

  it('disables a rule by name', () => {
    const text = `AKIA${'Q'.repeat(15)}Z`;
    const custom = new Redactor(testFingerprint('k1'), redactionSettingsOf({ disable: ['aws-access-key'] }));
    expect(custom.redact(text).text).toBe(text);
  });

  it('allows exact strings and whole-secret regexes', () => {
    const example = 'AKIAIOSFODNN7EXAMPLE';
    const custom = new Redactor(
      testFingerprint('k1'),
      redactionSettingsOf({ allow: [example], file: { allow: ['/ghp_0{36}/'] } }),
    );
    expect(custom.redact(`${example} ghp_${'0'.repeat(36)}`).counts).toEqual([]);
    expect(custom.redact(`ghp_${'0'.repeat(35)}1`).counts).toEqual([{ rule: 'github-token', count: 1 }]);
  });

  it('refuses a rule whose name could not live in a marker', () => {
    expect(() => new Redactor(testFingerprint('k'), { extraRules: [{ name: 'Bad Name', pattern: 'x' }] })).toThrow(
      InvalidRedactionRuleError,
    );
  });
});

const WORDS = [
  'build',
  'ok',
  'deploy',
  'step',
  '42',
  'done',
  'error:',
  'line',
  'x=1',
  '--verbose',
  'path/to/file',
  '#',
];
const secretOf = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9]{36}$/).map((s) => `ghp_${s}`),
  fc.stringMatching(/^[A-Z2-7]{16}$/).map((s) => `AKIA${s}`),
  fc.stringMatching(/^[A-Za-z0-9_-]{20,40}$/).map((s) => `glpat-${s}`),
  fc.stringMatching(/^[A-Za-z0-9]{24,40}$/).map((s) => `sk_live_${s}`),
  fc
    .tuple(fc.stringMatching(/^[A-Za-z0-9_-]{10,40}$/), fc.stringMatching(/^[A-Za-z0-9_-]{10,60}$/))
    .map(([payload, signature]) => `eyJhbGciOiJIUzI1NiJ9.eyJ${payload}.${signature}`),
);
const placedSecret = fc.oneof(
  secretOf.map((secret) => ({ secret, text: secret })),
  fc.stringMatching(/^[A-Za-z0-9!%*+=._-]{12,30}$/).map((secret) => ({ secret, text: `DB_PASSWORD=${secret}` })),
  fc.stringMatching(/^[A-Za-z0-9%*+=._-]{12,30}$/).map((secret) => ({ secret, text: `https://u:${secret}@h.example` })),
  fc
    .stringMatching(/^[A-Za-z0-9._~+/=-]{12,60}$/)
    .map((secret) => ({ secret, text: `Authorization: Bearer ${secret}` })),
);

describe('redaction properties', () => {
  it('is idempotent and leaves no fragment of 8 or more characters of a secret', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...WORDS), { maxLength: 12 }),
        placedSecret,
        fc.array(fc.constantFrom(...WORDS), { maxLength: 12 }),
        fc.constantFrom(' ', '\n', ' ; '),
        (before, { secret, text }, after, separator) => {
          fc.pre(!/^(.)\1*$/.test(secret));
          const input = [...before, text, ...after].join(separator);
          const once = redactor.redact(input).text;
          expect(redactor.redact(once).text).toBe(once);
          // A fragment the surrounding words hold by chance is not a leak.
          const context = [...before, ...after].join(separator);
          const leaked = fragments(secret).filter((fragment) => once.includes(fragment) && !context.includes(fragment));
          expect(leaked).toEqual([]);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('changes nothing in text with no secret-like content twice over', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) => {
        const once = redactor.redact(text).text;
        expect(redactor.redact(once).text).toBe(once);
      }),
      { numRuns: 500 },
    );
  });
});

describe('where the rules look (gates and start characters, for speed only)', () => {
  /** The same rules without their locators: every rule scans the whole text, as a plain global regex. */
  const plain = new Redactor(
    testFingerprint('k1'),
    {},
    BUILT_IN_REDACTION_RULES.map(({ gate: _gate, startsAt: _startsAt, assignment: _assignment, ...rule }) => rule),
  );
  const triggers = [
    ...SECRET_CASES.map((c) => c.text),
    ...LOOK_ALIKES,
    '--password',
    ' -u ',
    '--user ',
    'x-api-key: ',
    'X-Auth-Token:',
    '-----BEGIN',
    'token=',
    '_authToken=',
    '?sig=',
    'AccountKey=',
    'Q~',
    '~',
    'https://u:',
    '@',
    '\n',
    ' ',
    '"',
    '--client-secret ',
    '--access-token=',
    'token => ',
    'api_key: "',
    'secret_x  =  ',
    'Zk3pQ9xW2mN7vB4tR8sL6yH1jD5gF0aE',
    '=',
    ':',
  ];
  /** Case matters to some rules and not to others: each piece also in upper and in lower case. */
  const pieces = triggers.flatMap((piece) => [piece, piece.toUpperCase(), piece.toLowerCase()]);
  const noisy = fc.stringMatching(/^[A-Za-z0-9_~.:=@?&;\-/ "'\n]{0,40}$/);

  it('finds what a plain scan of every rule finds, in texts built from secrets, look-alikes and their triggers', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constantFrom(...pieces), noisy), { maxLength: 8 }), (parts) => {
        const text = parts.join('');
        expect(redactor.redact(text)).toEqual(plain.redact(text));
      }),
      { numRuns: 2000 },
    );
  });

  it('finds the same at the edges of what an assignment can be', () => {
    const value16 = 'Zk3pQ9xW2mN7vB4t';
    const texts = [
      `private_key${'n'.repeat(64)}'  \t = "${value16}"`, // the longest name, a quote, blanks
      `x private-key${'n'.repeat(64)}' = ${value16}x`,
      `token => ${value16}`,
      `{"auth":"${value16}"}`,
      `session_id: '${value16}'`,
      `cookie=a=b:${value16} then SIGNATURE=${value16.repeat(3)}`,
    ];
    for (const text of texts) {
      expect({ input: text, ...redactor.redact(text) }).toEqual({ input: text, ...plain.redact(text) });
      expect(redactor.redact(text).counts).not.toEqual([]);
    }
    const many = Array.from({ length: 20 }, (_, i) => `api_key=${value16}${i}`).join(' '); // more than 16 windows
    expect(redactor.redact(many)).toEqual(plain.redact(many));
  });

  it('refuses a locator that cannot work', () => {
    const rule = { name: 'acme', pattern: 'acme' };
    expect(
      () => new Redactor(testFingerprint('k'), { extraRules: [{ ...rule, gate: { holds: [''], within: 0 } }] }),
    ).toThrow(InvalidRedactionRuleError);
    expect(
      () => new Redactor(testFingerprint('k'), { extraRules: [{ ...rule, startsAt: { char: 'ac', next: 'm' } }] }),
    ).toThrow(InvalidRedactionRuleError);
  });
});
