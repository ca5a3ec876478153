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
export interface RedactionRule {
  /** The marker's type (`[REDACTED:<name>:<hmac>]`): lowercase letters, digits and `-`. */
  readonly name: string;
  /** Source of a global regular expression (flags below; `g` and `d` are added). */
  readonly pattern: string;
  readonly flags?: string;
  /**
   * Lowercase substrings one of which any match contains: the rule is skipped on a text holding none of them (the
   * cheap pre-filter that keeps redaction within its per-event budget).
   */
  readonly keywords?: readonly string[];
  /** Shannon entropy, in bits per character, below which a found value is taken for an ordinary word. */
  readonly minEntropy?: number;
}

/** A value after `=` or `:`: the inside of its quotes when quoted, else up to the next space or shell operator. */
const VALUE = String.raw`(?<secret>(?<=")[^"\n]+(?=")|(?<=')[^'\n]+(?=')|(?![$"'\[])[^\s"'\x60;&|<>()]+)`;
const ASSIGN = String.raw`["']?[ \t]*(?:=>|=|:)[ \t]*["']?`;
const NOT_WORD_BEFORE = String.raw`(?<![A-Za-z0-9_])`;

export const BUILT_IN_REDACTION_RULES: readonly RedactionRule[] = [
  {
    name: 'private-key',
    // An unterminated block (a cut output) is redacted to the end of the text.
    pattern: String.raw`-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----|$)`,
    keywords: ['private key'],
  },
  {
    name: 'jwt',
    pattern: String.raw`(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*`,
    keywords: ['eyj'],
  },
  {
    name: 'aws-access-key',
    pattern: String.raw`\b(?:A3T[A-Z0-9]|AKIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ASIA)[A-Z0-9]{16}\b`,
    keywords: ['a3t', 'akia', 'agpa', 'aida', 'aroa', 'aipa', 'anpa', 'anva', 'asia'],
  },
  {
    name: 'aws-secret-key',
    pattern: String.raw`(?<pre>(?:aws)?_?secret_?access_?key${ASSIGN})(?<secret>[A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])`,
    flags: 'i',
    keywords: ['secret'],
  },
  {
    name: 'github-token',
    pattern: String.raw`${NOT_WORD_BEFORE}(?:(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9_]{36,255}|github_pat_[A-Za-z0-9_]{22,255})(?![A-Za-z0-9_])`,
    keywords: ['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_', 'github_pat_'],
  },
  {
    name: 'gitlab-token',
    pattern: String.raw`(?<![A-Za-z0-9_-])(?:glpat|gloas|gldt|glrt|glptt|glft|glsoat|glcbt|glimt|glagent)-[A-Za-z0-9_-]{20,128}(?![A-Za-z0-9_-])`,
    keywords: ['glpat-', 'gloas-', 'gldt-', 'glrt-', 'glptt-', 'glft-', 'glsoat-', 'glcbt-', 'glimt-', 'glagent-'],
  },
  {
    name: 'slack-webhook',
    pattern: String.raw`https://hooks\.slack\.com/services/T[A-Za-z0-9]{1,40}/B[A-Za-z0-9]{1,40}/[A-Za-z0-9]{1,40}`,
    flags: 'i',
    keywords: ['hooks.slack.com'],
  },
  {
    name: 'slack-token',
    pattern: String.raw`\b(?:xoxb|xoxp|xapp|xoxa|xoxo|xoxr|xoxe)-(?:\d-)?(?:[A-Za-z0-9]{1,40}-)+[A-Za-z0-9]{1,40}\b`,
    keywords: ['xox', 'xapp-'],
  },
  {
    name: 'stripe-key',
    pattern: String.raw`(?<![A-Za-z0-9])(?:(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{24,99}|whsec_[A-Za-z0-9+/=]{24,99})(?![A-Za-z0-9])`,
    keywords: ['sk_live_', 'sk_test_', 'rk_live_', 'rk_test_', 'whsec_'],
  },
  {
    name: 'anthropic-key',
    pattern: String.raw`(?<![A-Za-z0-9_-])sk-ant-(?:api|admin)\d\d-[A-Za-z0-9_-]{80,128}(?![A-Za-z0-9_-])`,
    keywords: ['sk-ant-'],
  },
  {
    name: 'openai-key',
    pattern: String.raw`(?<![A-Za-z0-9_-])sk-(?:(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,300}|[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}|[A-Za-z0-9]{48})(?![A-Za-z0-9_-])`,
    keywords: ['sk-'],
  },
  {
    name: 'gcp-api-key',
    pattern: String.raw`(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}(?![A-Za-z0-9_-])`,
    keywords: ['aiza'],
  },
  {
    name: 'gcp-oauth',
    pattern: String.raw`(?<![A-Za-z0-9_-])(?:GOCSPX-[A-Za-z0-9_-]{28}|ya29\.[0-9A-Za-z_-]{20,})(?![A-Za-z0-9_-])`,
    keywords: ['gocspx-', 'ya29.'],
  },
  {
    name: 'azure-storage-key',
    pattern: String.raw`(?<pre>(?:AccountKey|SharedAccessKey)[ \t]*=[ \t]*)(?<secret>[A-Za-z0-9+/]{20,}={0,2})`,
    flags: 'i',
    keywords: ['accountkey', 'sharedaccesskey'],
  },
  {
    name: 'azure-sas-signature',
    pattern: String.raw`(?<pre>[?&;]sig=)(?<secret>[A-Za-z0-9%+/=]{20,})`,
    keywords: ['sig='],
  },
  {
    name: 'azure-client-secret',
    pattern: String.raw`(?<![A-Za-z0-9_~.-])[A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.-]{31,34}(?![A-Za-z0-9_~.-])`,
    keywords: ['q~'],
  },
  {
    name: 'npm-token',
    pattern: String.raw`${NOT_WORD_BEFORE}npm_[A-Za-z0-9]{36}(?![A-Za-z0-9_])|(?<pre>_auth(?:Token)?[ \t]*=[ \t]*)(?<secret>(?![$"'\[])[^\s"']+)`,
    keywords: ['npm_', '_auth'],
  },
  {
    name: 'sendgrid-key',
    pattern: String.raw`${NOT_WORD_BEFORE}SG\.[A-Za-z0-9_-]{16,32}\.[A-Za-z0-9_-]{16,64}(?![A-Za-z0-9_-])`,
    keywords: ['sg.'],
  },
  {
    name: 'vault-token',
    pattern: String.raw`${NOT_WORD_BEFORE}hv[sbr]\.[A-Za-z0-9_-]{24,300}(?![A-Za-z0-9_-])`,
    keywords: ['hvs.', 'hvb.', 'hvr.'],
  },
  {
    name: 'service-token',
    // Docker, Hugging Face, Groq, Shopify, Databricks, Linear, Grafana, Notion.
    pattern: String.raw`${NOT_WORD_BEFORE}(?:dckr_pat_[A-Za-z0-9_-]{27}|hf_[A-Za-z]{34}|gsk_[A-Za-z0-9]{52}|shp(?:pa|ca|at|ss)_[A-Fa-f0-9]{32}|dapi[a-f0-9]{32}|lin_api_[A-Za-z0-9_]{32,128}|glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}|ntn_[0-9]{11}[A-Za-z0-9]{35})(?![A-Za-z0-9_-])`,
    keywords: ['dckr_pat_', 'hf_', 'gsk_', 'shp', 'dapi', 'lin_api_', 'glsa_', 'ntn_'],
  },
  {
    name: 'url-password',
    // scheme://user:password@host; a variable reference (`${TOKEN}`, `$TOKEN`) is not a secret.
    pattern: String.raw`(?<pre>\b[A-Za-z][A-Za-z0-9+.-]{0,20}://[^\s:/?#@"'\x60\[\]]{1,256}:)(?<secret>(?!\$\{?[A-Za-z_][A-Za-z0-9_]*\}?@)[^\s/?#@"'\x60]{1,256})(?=@)`,
    keywords: ['://'],
  },
  {
    name: 'authorization-header',
    pattern: String.raw`(?<pre>\b(?:proxy-)?authorization[ \t]*[:=][ \t]*(?:(?:bearer|basic|token|digest|bot|apikey|negotiate)[ \t]+)?)(?<secret>(?![$\[]|(?:bearer|basic|token|digest|bot|apikey|negotiate)\b)[^\s"'\x60,;]+)`,
    flags: 'i',
    keywords: ['authorization'],
  },
  {
    name: 'api-key-header',
    pattern: String.raw`(?<pre>\b(?:x-api-key|api-key|x-auth-token|private-token|x-vault-token|x-access-token)[ \t]*:[ \t]*)(?<secret>(?![$\[])[^\s"'\x60,;]+)`,
    flags: 'i',
    keywords: ['api-key', 'token'],
  },
  {
    name: 'bearer-token',
    // A word after "Bearer" that holds a non-letter: a token, not the next word of a sentence.
    pattern: String.raw`(?<pre>\bbearer[ \t]+)(?<secret>(?=[A-Za-z0-9._~+/=-]*[0-9._~+/=-])[A-Za-z0-9._~+/=-]{8,})`,
    flags: 'i',
    keywords: ['bearer'],
  },
  {
    name: 'basic-auth-flag',
    // curl -u user:password
    pattern: String.raw`(?<pre>(?:^|[ \t])(?:-u|--user)[ \t]+["']?[^\s:"'\x60]{1,256}:)(?<secret>(?![$\[])[^\s"'\x60@]+)`,
    keywords: ['-u', '--user'],
  },
  {
    name: 'secret-flag',
    pattern: String.raw`(?<pre>(?:^|[ \t])--?(?:password|passwd|passphrase|token|api-key|apikey|secret|client-secret|access-token|auth-token)[ \t]+["']?)${VALUE}`,
    flags: 'i',
    keywords: ['pass', 'token', 'key', 'secret'],
  },
  {
    name: 'env-secret',
    // .env style: NAME_KEY=, NAME_SECRET=, NAME_TOKEN=, NAME_PASSWORD= (upper case; `export` allowed before it).
    pattern: String.raw`${NOT_WORD_BEFORE}(?<pre>(?:[A-Z0-9_]*_)?(?:[A-Z0-9]*KEY|SECRET|TOKEN|PASSWORD|PASSWD|PASSPHRASE|PASS|CREDENTIALS?|[A-Z0-9]+_PWD)["']?[ \t]*=[ \t]*["']?)${VALUE}`,
    keywords: ['key', 'secret', 'token', 'pass', 'credential', 'pwd'],
  },
  {
    name: 'password',
    pattern: String.raw`${NOT_WORD_BEFORE}(?<pre>[A-Za-z0-9_.-]{0,64}(?:password|passwd|passphrase|[A-Za-z0-9]_pwd)${ASSIGN})${VALUE}`,
    flags: 'i',
    keywords: ['pass', 'pwd'],
  },
  {
    name: 'secret-value',
    // A high-entropy value beside a secret-like name: `"client_secret": "…"`, `api_key: …`, `auth=…`.
    pattern: String.raw`${NOT_WORD_BEFORE}(?<pre>[A-Za-z0-9_.-]{0,64}(?:secret|token|api[_-]?key|access[_-]?key|private[_-]?key|auth|credential|signature|cookie|session[_-]?id)[A-Za-z0-9_.-]{0,64}${ASSIGN})(?<secret>(?!\.{0,2}\/|~\/)[A-Za-z0-9+/=_.~-]{16,})`,
    flags: 'i',
    keywords: ['secret', 'token', 'key', 'auth', 'credential', 'signature', 'cookie', 'session'],
    minEntropy: 3.5,
  },
];
