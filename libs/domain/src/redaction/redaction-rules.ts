/**
 * The built-in secret rules: a data table. The vendor token formats are ported from secretlint's recommended preset
 * (@secretlint/secretlint-rule-preset-recommend 13.0.7, MIT), which cannot be used per event: its `lintSource` is
 * async only, needs Node 22, and took ~230 µs for a 4 KiB text (docs/security.md, "Secrets redaction"). Rules it
 * lacks (GCP API keys, Azure keys, JWTs, Authorization headers, `.env` assignments, high-entropy values beside
 * secret-like names) are ours.
 *
 * A rule's secret is its `secret` named group when it has one, else the whole match; only the secret is replaced,
 * so `AWS_SECRET_ACCESS_KEY=` or `Authorization: Bearer ` stay readable. Secrets never span quotes or whitespace
 * (except private-key blocks, which hold no quotes), so a marker never unbalances a shell word. Order is priority:
 * where two rules find the same secret, the earlier one names it.
 */
import type { RuleAssignment } from './assignment-scan.js';
import type { RuleGate, RuleStart } from './rule-scan.js';

export interface RedactionRule {
  /** The marker's type (`[REDACTED:<name>:<hmac>]`): lowercase letters, digits and `-`. */
  readonly name: string;
  /** Source of a global regular expression (flags below; `g` and `d` are added). */
  readonly pattern: string;
  readonly flags?: string;
  /**
   * Lowercase substrings one of which any match contains: the rule is skipped on a text holding none of them. The
   * built-in rules have none (each `includes` scan costs about as much as a regex that starts with a literal).
   */
  readonly keywords?: readonly string[];
  /** Shannon entropy, in bits per character, below which a found value is taken for an ordinary word. */
  readonly minEntropy?: number;
  /** For speed only (rule-scan.ts): strings one of which every match holds near its start. */
  readonly gate?: RuleGate;
  /** For speed only (rule-scan.ts): the character, and the one after it, every match starts with. */
  readonly startsAt?: RuleStart;
  /** For speed only (assignment-scan.ts): the match is a value of `valueMin` or more characters assigned to a name. */
  readonly assignment?: RuleAssignment;
}

/** A value after `=` or `:`: the inside of its quotes when quoted, else up to the next space or shell operator. */
const VALUE = String.raw`(?<secret>(?<=")[^"\n]+(?=")|(?<=')[^'\n]+(?=')|(?![$"'\[])[^\s"'\x60;&|<>()]+)`;
const ASSIGN = String.raw`["']?[ \t]*(?:=>|=|:)[ \t]*["']?`;
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const NOT_WORD_BEFORE = String.raw`(?<![A-Za-z0-9_])`;

export const BUILT_IN_REDACTION_RULES: readonly RedactionRule[] = [
  {
    name: 'private-key',
    // An unterminated block (a cut output) is redacted to the end of the text.
    pattern: String.raw`-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----|$)`,
    gate: { holds: ['BEGIN'], within: 5 },
  },
  {
    name: 'jwt',
    pattern: String.raw`eyJ(?<![A-Za-z0-9_-]eyJ)[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*`,
    gate: { holds: ['J'], within: 2 },
  },
  {
    name: 'aws-access-key',
    pattern: String.raw`\b(?:A3T[A-Z0-9]|AKIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ASIA)[A-Z0-9]{16}\b`,
    startsAt: { char: 'A', next: '3KGIRNS' },
  },
  {
    name: 'aws-secret-key',
    pattern: String.raw`(?<pre>secret_?access_?key${ASSIGN})(?<secret>[A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])`,
    flags: 'i',
    gate: { holds: ['=', ':'], within: Infinity },
  },
  {
    name: 'github-token',
    pattern: String.raw`${NOT_WORD_BEFORE}(?:(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9_]{36,255}|github_pat_[A-Za-z0-9_]{22,255})(?![A-Za-z0-9_])`,
    gate: { holds: ['_'], within: 6 },
  },
  {
    name: 'gitlab-token',
    pattern: String.raw`(?<![A-Za-z0-9_-])(?:glpat|gloas|gldt|glrt|glptt|glft|glsoat|glcbt|glimt|glagent)-[A-Za-z0-9_-]{20,128}(?![A-Za-z0-9_-])`,
    gate: { holds: ['gl'], within: 0 },
  },
  {
    name: 'slack-webhook',
    pattern: String.raw`https://hooks\.slack\.com/services/T[A-Za-z0-9]{1,40}/B[A-Za-z0-9]{1,40}/[A-Za-z0-9]{1,40}`,
    flags: 'i',
    gate: { holds: ['://'], within: 5 },
  },
  {
    name: 'slack-token',
    pattern: String.raw`\b(?:xoxb|xoxp|xapp|xoxa|xoxo|xoxr|xoxe)-(?:\d-)?(?:[A-Za-z0-9]{1,40}-)+[A-Za-z0-9]{1,40}\b`,
    gate: { holds: ['x'], within: 0 },
  },
  {
    name: 'stripe-key',
    pattern: String.raw`(?<![A-Za-z0-9])(?:(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{24,99}|whsec_[A-Za-z0-9+/=]{24,99})(?![A-Za-z0-9])`,
    gate: { holds: ['_'], within: 5 },
  },
  {
    name: 'anthropic-key',
    pattern: String.raw`(?<![A-Za-z0-9_-])sk-ant-(?:api|admin)\d\d-[A-Za-z0-9_-]{80,128}(?![A-Za-z0-9_-])`,
  },
  {
    name: 'openai-key',
    pattern: String.raw`(?<![A-Za-z0-9_-])sk-(?:(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,300}|[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}|[A-Za-z0-9]{48})(?![A-Za-z0-9_-])`,
  },
  {
    name: 'gcp-api-key',
    pattern: String.raw`(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}(?![A-Za-z0-9_-])`,
    gate: { holds: ['z'], within: 3 },
  },
  {
    name: 'gcp-oauth',
    pattern: String.raw`(?<![A-Za-z0-9_-])(?:GOCSPX-[A-Za-z0-9_-]{28}|ya29\.[0-9A-Za-z_-]{20,})(?![A-Za-z0-9_-])`,
    gate: { holds: ['GOCSPX-', 'ya29.'], within: 0 },
  },
  {
    name: 'azure-storage-key',
    pattern: String.raw`(?<pre>(?:Account|SharedAccess)Key[ \t]*=[ \t]*)(?<secret>[A-Za-z0-9+/]{20,}={0,2})`,
    gate: { holds: ['K'], within: 12 },
  },
  {
    name: 'azure-sas-signature',
    pattern: String.raw`(?<pre>[?&;]sig=)(?<secret>[A-Za-z0-9%+/=]{20,})`,
    gate: { holds: ['?', '&', ';'], within: 0 },
  },
  {
    name: 'azure-client-secret',
    pattern: String.raw`(?<![A-Za-z0-9_~.-])[A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.-]{31,34}(?![A-Za-z0-9_~.-])`,
    gate: { holds: ['~'], within: 5 },
  },
  {
    name: 'npm-token',
    pattern: String.raw`${NOT_WORD_BEFORE}npm_[A-Za-z0-9]{36}(?![A-Za-z0-9_])|(?<pre>_auth(?:Token)?[ \t]*=[ \t]*)(?<secret>(?![$"'\[])[^\s"']+)`,
    gate: { holds: ['_'], within: 3 },
  },
  {
    name: 'sendgrid-key',
    pattern: String.raw`${NOT_WORD_BEFORE}SG\.[A-Za-z0-9_-]{16,32}\.[A-Za-z0-9_-]{16,64}(?![A-Za-z0-9_-])`,
    gate: { holds: ['G'], within: 1 },
  },
  {
    name: 'vault-token',
    pattern: String.raw`${NOT_WORD_BEFORE}hv[sbr]\.[A-Za-z0-9_-]{24,300}(?![A-Za-z0-9_-])`,
    gate: { holds: ['hv'], within: 0 },
  },
  {
    name: 'service-token',
    // Docker, Hugging Face, Groq, Shopify, Databricks, Linear, Grafana, Notion (prefixes distinctive enough to need no
    // word boundary before them: the check costs more than it saves).
    pattern: String.raw`(?:dckr_pat_[A-Za-z0-9_-]{27}|hf_[A-Za-z]{34}|gsk_[A-Za-z0-9]{52}|shp(?:pa|ca|at|ss)_[A-Fa-f0-9]{32}|dapi[a-f0-9]{32}|lin_api_[A-Za-z0-9_]{32,128}|glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}|ntn_[0-9]{11}[A-Za-z0-9]{35})(?![A-Za-z0-9_-])`,
    gate: { holds: ['_', 'dapi'], within: 5 },
  },
  {
    name: 'url-password',
    // scheme://user:password@host; a variable reference (`${TOKEN}`, `$TOKEN`) is not a secret.
    pattern: String.raw`(?<pre>://[^\s:/?#@"'\x60\[\]]{1,256}:)(?<secret>(?!\$\{?[A-Za-z_][A-Za-z0-9_]*\}?@)[^\s/?#@"'\x60]{1,256})(?=@)`,
    gate: { holds: ['://'], within: 0 },
  },
  {
    name: 'authorization-header',
    pattern: String.raw`(?<pre>authorization[ \t]*[:=][ \t]*(?:(?:bearer|basic|token|digest|bot|apikey|negotiate)[ \t]+)?)(?<secret>(?![$\[]|(?:bearer|basic|token|digest|bot|apikey|negotiate)\b)[^\s"'\x60,;]+)`,
    flags: 'i',
    gate: { holds: [':', '='], within: Infinity },
  },
  {
    name: 'api-key-header',
    pattern: String.raw`(?<pre>-(?:key|token)(?<=(?:api|auth|private|vault|access)-(?:key|token))[ \t]*:[ \t]*)(?<secret>(?![$\[])[^\s"'\x60,;]+)`,
    flags: 'i',
    gate: { holds: ['-'], within: 0 },
  },
  {
    name: 'bearer-token',
    // A word after "Bearer" that holds a non-letter: a token, not the next word of a sentence.
    pattern: String.raw`(?<pre>bearer[ \t]+)(?<secret>(?=[A-Za-z0-9._~+/=-]*[0-9._~+/=-])[A-Za-z0-9._~+/=-]{8,})`,
    flags: 'i',
  },
  {
    name: 'basic-auth-flag',
    // curl -u user:password
    pattern: String.raw`(?<pre>-(?:u|-user)(?<=(?:^|[ \t])-(?:u|-user))[ \t]+["']?[^\s:"'\x60]{1,256}:)(?<secret>(?![$\[])[^\s"'\x60@]+)`,
    gate: { holds: ['-u'], within: 1 },
  },
  {
    name: 'secret-flag',
    pattern: String.raw`(?<pre>-(?:password|passwd|passphrase|token|api-key|apikey|secret|client-secret|access-token|auth-token)(?<=(?:^|[ \t])--?[A-Za-z-]+)[ \t]+["']?)${VALUE}`,
    flags: 'i',
    startsAt: { char: '-', next: 'pPtTaAsScC' },
  },
  {
    name: 'env-secret',
    // .env style: NAME_KEY=, NAME_SECRET=, NAME_TOKEN=, NAME_PASSWORD= (upper case; `export` allowed before it).
    pattern: String.raw`(?<pre>(?:KEY|SECRET|TOKEN|PASSWORD|PASSWD|PASSPHRASE|PASS|CREDENTIALS?|_PWD)(?<=(?<![A-Za-z0-9_])[A-Z0-9_]*(?:KEY|SECRET|TOKEN|PASS\w*|CREDENTIALS?|[A-Z0-9]_PWD))["']?[ \t]*=[ \t]*["']?)${VALUE}`,
    gate: { holds: ['='], within: Infinity },
  },
  {
    name: 'password',
    pattern: String.raw`(?<pre>(?:pass(?:word|wd|phrase)|_pwd(?<=[A-Za-z0-9]_pwd))${ASSIGN})${VALUE}`,
    flags: 'i',
    gate: { holds: ['=', ':'], within: Infinity },
  },
  {
    name: 'secret-value',
    // A high-entropy value beside a secret-like name: `"client_secret": "…"`, `api_key: …`, `auth=…`.
    pattern: String.raw`(?<pre>(?:secret|token|api[_-]?key|access[_-]?key|private[_-]?key|auth|credential|signature|cookie|session[_-]?id)[A-Za-z0-9_.-]{0,64}${ASSIGN})(?<secret>(?!\.{0,2}\/|~\/)[A-Za-z0-9+/=_.~-]{16,})`,
    flags: 'i',
    minEntropy: 3.5,
    // keyword (≤ 11) + name (≤ 64), then a quote, blanks and the operator; the secret's characters after it.
    assignment: { name: `${ALNUM}_.-`, before: 75, valueMin: 16, value: `${ALNUM}+/=_.~-` },
  },
];
