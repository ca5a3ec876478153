import { BUILT_IN_REDACTION_RULES, type RedactionRule } from './redaction-rules.js';
import { charTable } from './assignment-scan.js';
import { nextTable, scanRule, type RuleLocator, type RuleRegexes } from './rule-scan.js';

/** Keyed digest of a secret for its marker (first 8 hex of an HMAC): supplied by the caller, who holds the key. */
export type SecretFingerprint = (secret: string) => string;

export interface RedactionSettings {
  /** Rules added after the built-in ones (a later rule names a secret only where no earlier one did). */
  readonly extraRules?: readonly RedactionRule[];
  /** Names of rules (built-in or added) that do not run. */
  readonly disabledRules?: readonly string[];
  /** Secrets left as they are: an exact string, or a RegExp that the whole secret must match. */
  readonly allow?: readonly (string | RegExp)[];
}

/** How many secrets one rule replaced in one text. */
export interface RuleCount {
  readonly rule: string;
  readonly count: number;
}

export interface RedactedText {
  readonly text: string;
  /** Empty when nothing was found (then `text` is the input itself). */
  readonly counts: readonly RuleCount[];
}

export const RULE_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** What a marker looks like: found again, it is never redacted twice. */
export const REDACTION_MARKER = /\[REDACTED:[a-z0-9-]{1,63}:[0-9a-f]{8}\]/g;
const MARKER_PREFIX = '[REDACTED:';
const NO_MARKERS: readonly [number, number][] = [];

export class InvalidRedactionRuleError extends Error {
  readonly code = 'REDACTION.INVALID_RULE';
  constructor(
    readonly ruleName: string,
    reason: string,
  ) {
    super(`Redaction rule "${ruleName}" is invalid: ${reason}`);
  }
}

interface CompiledRule {
  readonly name: string;
  readonly regexes: RuleRegexes;
  readonly locator: RuleLocator;
  readonly keywords: readonly string[] | undefined;
  readonly minEntropy: number | undefined;
}

interface Span {
  start: number;
  end: number;
  readonly rule: string;
  readonly priority: number;
}

/**
 * Replaces every secret a rule finds by `[REDACTED:<rule>:<fingerprint>]`. Deterministic for one key (a retried
 * command redacts the same way) and idempotent (markers are never matched again). Pure: the keyed digest comes in.
 */
export class Redactor {
  private readonly rules: readonly CompiledRule[];
  private readonly allowExact: ReadonlySet<string>;
  private readonly allowPatterns: readonly RegExp[];
  private readonly anyKeywords: boolean;

  /** `builtInRules`: the table the settings add to (tests compare the built-in one with itself minus its locators). */
  constructor(
    private readonly fingerprint: SecretFingerprint,
    settings: RedactionSettings = {},
    builtInRules: readonly RedactionRule[] = BUILT_IN_REDACTION_RULES,
  ) {
    const disabled = new Set(settings.disabledRules ?? []);
    this.rules = [...builtInRules, ...(settings.extraRules ?? [])]
      .filter((rule) => !disabled.has(rule.name))
      .map(compileRule);
    this.anyKeywords = this.rules.some((rule) => rule.keywords !== undefined);
    const allow = settings.allow ?? [];
    this.allowExact = new Set(allow.filter((entry): entry is string => typeof entry === 'string'));
    this.allowPatterns = allow
      .filter((entry): entry is RegExp => entry instanceof RegExp)
      .map((pattern) => new RegExp(`^(?:${pattern.source})$`, pattern.flags.replace(/[gy]/g, '')));
  }

  get ruleNames(): readonly string[] {
    return this.rules.map((rule) => rule.name);
  }

  redact(text: string): RedactedText {
    if (text.length < 8) return { text, counts: [] };
    const lower = this.anyKeywords ? text.toLowerCase() : '';
    const markers = text.includes(MARKER_PREFIX) ? markerSpans(text) : NO_MARKERS;
    const spans: Span[] = [];
    const matches: RegExpExecArray[] = [];
    for (let priority = 0; priority < this.rules.length; priority++) {
      const rule = this.rules[priority]!;
      if (rule.keywords && !rule.keywords.some((keyword) => lower.includes(keyword))) continue;
      matches.length = 0;
      scanRule(text, rule.locator, rule.regexes, matches);
      for (const match of matches) {
        const [start, end] = match.indices?.groups?.['secret'] ?? match.indices![0]!;
        if (end - start === 0 || overlapsAny(markers, start, end)) continue;
        const secret = text.slice(start, end);
        if (this.allowed(secret) || isPlaceholder(secret)) continue;
        if (rule.minEntropy !== undefined && shannonEntropy(secret) < rule.minEntropy) continue;
        spans.push({ start, end, rule: rule.name, priority });
      }
    }
    if (spans.length === 0) return { text, counts: [] };
    return this.replace(text, mergeOverlapping(spans));
  }

  private replace(text: string, spans: readonly Span[]): RedactedText {
    const counts = new Map<string, number>();
    let out = '';
    let at = 0;
    for (const span of spans) {
      const secret = text.slice(span.start, span.end);
      out += text.slice(at, span.start) + `${MARKER_PREFIX}${span.rule}:${this.fingerprint(secret)}]`;
      at = span.end;
      counts.set(span.rule, (counts.get(span.rule) ?? 0) + 1);
    }
    out += text.slice(at);
    return { text: out, counts: [...counts].map(([rule, count]) => ({ rule, count })) };
  }

  private allowed(secret: string): boolean {
    return this.allowExact.has(secret) || this.allowPatterns.some((pattern) => pattern.test(secret));
  }
}

function compileRule(rule: RedactionRule): CompiledRule {
  if (!RULE_NAME.test(rule.name)) {
    throw new InvalidRedactionRuleError(rule.name, 'a name is lowercase letters, digits and "-" (it goes in markers)');
  }
  const next = rule.startsAt && nextTable(rule.startsAt.next);
  if (rule.startsAt && (rule.startsAt.char.length !== 1 || !next)) {
    throw new InvalidRedactionRuleError(rule.name, '`startsAt` is one character, `next` ASCII characters');
  }
  if (rule.gate && (rule.gate.holds.some((holds) => holds.length === 0) || !(rule.gate.within >= 0))) {
    throw new InvalidRedactionRuleError(rule.name, '`gate` holds non-empty strings, `within` ≥ 0');
  }
  const name = rule.assignment && charTable(rule.assignment.name, '=:');
  const value = rule.assignment && charTable(rule.assignment.value);
  if (rule.assignment && (!name || !value || !(rule.assignment.before >= 1) || !(rule.assignment.valueMin >= 1))) {
    throw new InvalidRedactionRuleError(rule.name, '`assignment`: ASCII names and values without quotes or blanks');
  }
  const flags = [...new Set([...(rule.flags ?? '').replace(/[gdy]/g, ''), 'd'])].join('');
  let regexes: RuleRegexes;
  try {
    regexes = {
      global: new RegExp(rule.pattern, `${flags}g`),
      sticky: rule.startsAt ? new RegExp(rule.pattern, `${flags}y`) : undefined,
      next: next || undefined,
      assignment: name && value ? { name, value } : undefined,
    };
  } catch (error) {
    throw new InvalidRedactionRuleError(rule.name, String(error));
  }
  return {
    name: rule.name,
    regexes,
    locator: { gate: rule.gate, startsAt: rule.startsAt, assignment: rule.assignment },
    keywords: rule.keywords?.map((keyword) => keyword.toLowerCase()),
    minEntropy: rule.minEntropy,
  };
}

function markerSpans(text: string): [number, number][] {
  return [...text.matchAll(REDACTION_MARKER)].map((match) => [match.index, match.index + match[0].length]);
}

function overlapsAny(spans: readonly [number, number][], start: number, end: number): boolean {
  return spans.some(([s, e]) => start < e && s < end);
}

/** Overlapping finds become one secret (no tail of a longer find survives), named by the earliest, then highest, rule. */
function mergeOverlapping(spans: Span[]): Span[] {
  spans.sort((a, b) => a.start - b.start || a.priority - b.priority || b.end - a.end);
  const merged: Span[] = [];
  for (const span of spans) {
    const last = merged.at(-1);
    if (last && span.start < last.end) last.end = Math.max(last.end, span.end);
    else merged.push({ ...span });
  }
  return merged;
}

/** Masks (`********`) and template variables (`${TOKEN}`, `{{ token }}`, `<token>`) are not secrets. */
function isPlaceholder(secret: string): boolean {
  return /^(.)\1*$/.test(secret) || /^(?:\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*|\{\{[^}]*\}\}|<[^>]*>)$/.test(secret);
}

export function shannonEntropy(text: string): number {
  const counts = new Map<string, number>();
  for (const char of text) counts.set(char, (counts.get(char) ?? 0) + 1);
  let bits = 0;
  for (const count of counts.values()) {
    const p = count / text.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}
