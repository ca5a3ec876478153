/**
 * The reconciler's entry point: is what ran what the approval allowed?
 * parse → normalise → compare with the approved list (or match intent) → risk rules.
 */
import { effectAnswer } from './effect-match.js';
import { effectFindings, type EffectFinding } from './effect-rules.js';
import { maxRisk, riskOfEffect } from './effects/assessed-risk.js';
import type { AssessedRisk } from './effects/effect.types.js';
import { lineEffects, toolCanonicalArgv, type LocatedEffect } from './effects/model.js';
import { canonicalArgv } from './normalise.js';
import { instructionIntent, type InstructionIntent } from './instruction-intent.js';
import { assessIntent } from './intent.js';
import { maxSeverity, riskHits, type RiskHit } from './risk-rules.js';
import { parseCommandLine } from './shell-parser.js';
import { memoByText } from '../shared/text-memo.js';
import type {
  ApprovalForReconciliation,
  ParsedCommandLine,
  ReconciliationResult,
  Severity,
} from './reconciliation.types.js';

export const RECONCILER_VERSION = 'reconciler/1.1.0';

const AS_NEEDED = /\b(as needed|if needed|as required|any of the following|where needed|when needed|optionally)\b/i;

/**
 * A command line parsed once per text: an approved one (every execution under the approval compares with it again),
 * and one that ran, which is most often an approved command verbatim or a command run before, and which the
 * projections assess again (`assessCommandRisk`). Issue 14: the parse was about a third of `reconcile` per execution.
 */
const parseApproved = memoByText(parseCommandLine);
export const parseExecuted = parseApproved;
const parseApprovedWithVariables = memoByText((command) => parseCommandLine(placeholdersAsVariables(command)));

const q = (s: string): string => `\`${s.trim()}\``;

export function reconcile(
  approval: ApprovalForReconciliation,
  executed: string | readonly string[],
): ReconciliationResult {
  const texts = typeof executed === 'string' ? [executed] : executed;
  const parsed = texts.map(parseExecuted);
  const hits = riskHits(
    parsed.flatMap((p) => p.commands),
    { scope: approval.scope },
  );
  const riskRules = [...new Set(hits.map((h) => h.rule.id))];
  const effects = lineEffects(parsed);
  const base = { reconcilerVersion: RECONCILER_VERSION, riskRules, assessedRisk: assessRisk(effects, hits) };
  if (texts.length === 0) return { ...base, verdict: 'MATCH', explanation: 'nothing was executed' };
  if (approval.approvedCommands.length > 0) {
    const compared = compareWithApproved(approval, parsed, hits);
    if (compared.verdict === 'MATCH') return { ...base, ...compared };
    // what ran and is not verbatim approved: do its effects contradict the instruction or the approved packages?
    const approvedLines = approval.approvedCommands.map(parseApproved);
    const unmatched = parsed.filter((p) => !approvedLines.some((a) => sameCommandLine(a, p)));
    const unmatchedCommands = new Set(unmatched.flatMap((p) => p.commands));
    const findings = effectFindings({
      intent: intentOfApproved(instructionIntent(approval.instruction), lineEffects(approvedLines)),
      commands: [...unmatchedCommands],
      effects: effects.filter((e) => unmatchedCommands.has(e.command)),
      hits: hits.filter((h) => unmatchedCommands.has(h.command)),
      approvedPackages: approvedPackages(approval.approvedCommands),
    });
    return { ...base, ...withFindings(compared, findings) };
  }
  const intent0 = instructionIntent(approval.instruction);
  const findings = effectFindings({
    intent: intent0,
    commands: parsed.flatMap((p) => p.commands),
    effects,
    hits,
    approvedPackages: [],
  });
  const severity = hits.reduce<Severity | undefined>((s, h) => maxSeverity(s, h.rule.severity), undefined);
  // every finding contradicts the instruction (the dangerous ones raise the severity and the kinds)
  if (findings.length > 0)
    return { ...base, ...withFindings({ verdict: 'UNCLEAR', explanation: '' }, findings, severity) };
  const answer = effectAnswer(
    instructionIntent(approval.instruction),
    parsed.flatMap((p) => p.commands),
    effects,
    hits,
  );
  if (answer?.verdict === 'MATCH') return { ...base, verdict: 'MATCH', explanation: answer.reason };
  if (answer?.verdict === 'UNCLEAR')
    return {
      ...base,
      verdict: 'UNCLEAR',
      kind: 'vague_instruction',
      kinds: ['vague_instruction'],
      severity,
      explanation: answer.reason,
    };
  if (answer?.verdict === 'MISMATCH') {
    const kind = answer.dangerous ? 'dangerous_deviation' : 'command_not_approved';
    return {
      ...base,
      verdict: 'MISMATCH',
      kind,
      kinds: [kind, 'parameter_changed'],
      severity: maxSeverity(severity, answer.dangerous ? 'high' : 'medium'),
      explanation: answer.reason,
    };
  }
  if (intent0.vagueWords && !intent0.specific)
    return {
      ...base,
      verdict: 'UNCLEAR',
      kind: 'vague_instruction',
      kinds: ['vague_instruction'],
      severity,
      explanation: `the instruction "${approval.instruction.trim()}" is too vague to check what ran against`,
    };
  const intent = assessIntent(
    approval.instruction,
    parsed.flatMap((p) => p.commands),
    hits,
  );
  if (intent.verdict === 'MATCH') return { ...base, verdict: 'MATCH', explanation: intent.reason };
  return {
    ...base,
    verdict: intent.verdict,
    kind: intent.kind,
    ...(intent.kind ? { kinds: [intent.kind] } : {}),
    severity: intent.verdict === 'MISMATCH' ? maxSeverity(severity, 'medium') : severity,
    explanation: intent.reason,
  };
}

/**
 * Placeholders written into approved commands (`<pod-name>`, `{{ version }}`) are variables: the value that ran
 * cannot be checked from the ledger (`$pod_name`, `$version`).
 */
export function placeholdersAsVariables(command: string): string {
  return command
    .replace(
      /(^|[\s=:/@])<([A-Za-z][\w-]*)>(?=$|[\s:/@])/g,
      (_m, before: string, name: string) => `${before}$${name.replace(/-/g, '_')}`,
    )
    .replace(/\{\{\s*\.?([A-Za-z][\w.-]*)\s*\}\}/g, (_m, name: string) => `$${name.replace(/[.-]/g, '_')}`);
}

/**
 * With an approved list, the approved commands say what the approver meant: a command that ran in their place is
 * judged against their effects (read-only? which classes? every object?), the instruction's named parameters kept.
 */
function intentOfApproved(intent: InstructionIntent, approved: readonly LocatedEffect[]): InstructionIntent {
  if (approved.length === 0) return { ...intent, readOnly: false, vagueWords: true };
  const classes = new Set(approved.flatMap((a) => a.effect.classes));
  return {
    ...intent,
    readOnly: approved.every((a) => a.effect.classes[0] === 'read-only'),
    licensed: new Set([
      ...classes,
      'read-only',
      'network-egress',
      'privilege',
      ...(classes.has('delete') ? (['destroy-data'] as const) : []),
    ]),
    wide: intent.wide || approved.some((a) => a.effect.blast !== 'one'),
    vagueWords: false,
  };
}

/** The assessed risk of command lines that ran (what `reconcile` reports as `assessedRisk`), on its own. */
export function assessCommandRisk(
  executed: string | readonly string[],
  scope?: ApprovalForReconciliation['scope'],
): AssessedRisk {
  const parsed = (typeof executed === 'string' ? [executed] : executed).map(parseExecuted);
  return assessRisk(
    lineEffects(parsed),
    riskHits(
      parsed.flatMap((p) => p.commands),
      { scope },
    ),
  );
}

/** The worst risk of what ran: the effect model's, and critical for code that is decoded or downloaded and run. */
function assessRisk(effects: readonly LocatedEffect[], hits: readonly RiskHit[]): AssessedRisk {
  let risk: AssessedRisk = 'safe';
  for (const e of effects) risk = maxRisk(risk, riskOfEffect(e.effect));
  if (hits.some((h) => h.rule.id === 'pipe_to_shell')) risk = 'critical';
  else if (hits.some((h) => h.rule.destructive && h.rule.severity === 'critical')) risk = maxRisk(risk, 'critical');
  else if (hits.some((h) => h.rule.destructive)) risk = maxRisk(risk, 'destructive');
  return risk;
}

function approvedPackages(commands: readonly string[]): string[] {
  return lineEffects(commands.map(parseApproved)).flatMap((e) =>
    (e.effect.targets.packages ?? []).map((p) => p.toLowerCase()),
  );
}

/**
 * An outcome made a MISMATCH by effect findings. `kind` keeps the vocabulary every reader knows (the comparison's
 * own mismatch kind when it found one, else `dangerous_deviation` for a dangerous finding or `command_not_approved`);
 * `kinds` lists it and every finding's kind (`typosquat`, `scope_widened` …).
 */
function withFindings(outcome: Outcome, findings: readonly EffectFinding[], severity?: Severity): Outcome {
  if (findings.length === 0) return outcome;
  const dangerous = findings.some((f) => f.dangerous);
  const own = outcome.verdict === 'MISMATCH' ? outcome.kind : undefined;
  const kind = own ?? (dangerous ? 'dangerous_deviation' : 'command_not_approved');
  const kinds = [...new Set([kind, ...(own ? [own] : []), ...findings.map((f) => f.kind)])];
  const worst = findings.reduce<Severity>(
    (s, f) => maxSeverity(s, f.severity),
    maxSeverity(severity, outcome.severity ?? 'medium'),
  );
  const reasons = [...new Set(findings.map((f) => f.reason))].join('; ');
  return {
    verdict: 'MISMATCH',
    kind,
    kinds,
    severity: worst,
    explanation: outcome.explanation ? `${reasons} | ${outcome.explanation}` : reasons,
  };
}

type Outcome = Omit<ReconciliationResult, 'reconcilerVersion' | 'riskRules' | 'assessedRisk'>;

function compareWithApproved(
  approval: ApprovalForReconciliation,
  executed: readonly ParsedCommandLine[],
  hits: readonly RiskHit[],
): Outcome {
  const approved = approval.approvedCommands.map(parseApproved);
  const withPlaceholders = approval.approvedCommands.map(parseApprovedWithVariables);
  const matchedIndex: number[] = [];
  const used = new Set<number>();
  for (const e of executed) {
    const j = approved.findIndex((a, k) => sameCommandLine(a, e) && !used.has(k));
    matchedIndex.push(j);
    if (j >= 0) used.add(j);
  }
  const approvedHits = new Set(
    riskHits(
      approved.flatMap((a) => a.commands),
      { scope: approval.scope },
    ).map((h) => `${h.rule.id}`),
  );
  const unmatched = executed.map((e, i) => ({ e, i })).filter(({ i }) => matchedIndex[i] === -1);
  if (unmatched.length > 0) {
    let unclear: Outcome | undefined;
    const problems: { text: string; severity: Severity; dangerous: boolean }[] = [];
    for (const { e } of unmatched) {
      const best = closest(e, approved);
      const eHits = hits.filter((h) => executed.some((x) => x === e && x.commands.includes(h.command)));
      const newHits = eHits.filter((h) => !approvedHits.has(h.rule.id));
      const bestIndex = best ? approved.indexOf(best) : -1;
      const variable = best
        ? (variableExplains(best.canonical, e.canonical) ??
          variableExplains(withPlaceholders[bestIndex]?.canonical ?? best.canonical, e.canonical))
        : undefined;
      if (variable && newHits.length === 0) {
        unclear ??= {
          verdict: 'UNCLEAR',
          kind: 'unverifiable_variable',
          explanation: `executed ${q(e.text)} fills ${variable} of approved ${q(best?.text ?? '')} with a value the ledger cannot check`,
        };
        continue;
      }
      const diff = best ? describeDiff(best, e) : `${q(e.text)} is not in the approved list`;
      const danger = newHits.map((h) => h.reason);
      const severity = newHits.reduce<Severity>((s, h) => maxSeverity(s, h.rule.severity), 'medium');
      problems.push({
        text: danger.length > 0 ? `${diff}; ${danger.join('; ')}` : diff,
        severity,
        dangerous: newHits.length > 0,
      });
    }
    if (problems.length > 0) {
      const dangerous = problems.some((p) => p.dangerous);
      return {
        verdict: 'MISMATCH',
        kind: dangerous ? 'dangerous_deviation' : 'command_not_approved',
        severity: problems.reduce<Severity>((s, p) => maxSeverity(s, p.severity), 'medium'),
        explanation: problems.map((p) => p.text).join(' | '),
      };
    }
    if (unclear) return unclear;
  }
  const order = matchedIndex.filter((j) => j >= 0);
  const inOrder = order.every((j, k) => k === 0 || j > (order[k - 1] ?? -1));
  if (!inOrder) {
    return {
      verdict: 'UNCLEAR',
      kind: 'partial_execution',
      explanation: 'every executed command is approved, but they ran in a different order than approved',
    };
  }
  if (order.length < approved.length && !AS_NEEDED.test(approval.instruction)) {
    const missing = approved.filter((_, j) => !used.has(j)).map((a) => q(a.text));
    return {
      verdict: 'UNCLEAR',
      kind: 'partial_execution',
      explanation: `only part of the approved sequence ran (not run: ${missing.join(', ')}) and the approval does not say "as needed"`,
    };
  }
  return {
    verdict: 'MATCH',
    explanation:
      order.length === approved.length
        ? 'every executed command equals an approved command after normalisation'
        : 'the executed commands are an in-order subset of the commands approved "as needed"',
  };
}

const OPERATORS = new Set(['|', '&&', '||', ';', '&', '(', ')', '{', '}']);

/**
 * Two command lines are the same when their canonical forms are equal, or when they have the same structure and
 * each simple command reads the same through its tool's argv reading (`kubectl -n x` = `kubectl --namespace=x`).
 */
function sameCommandLine(a: ParsedCommandLine, e: ParsedCommandLine): boolean {
  if (a.canonical === e.canonical) return true;
  if (a.commands.length !== e.commands.length || a.commands.length === 0) return false;
  const shape = (p: ParsedCommandLine): string =>
    tokens(p.canonical)
      .filter((t) => OPERATORS.has(t))
      .join(' ');
  if (shape(a) !== shape(e)) return false;
  return a.commands.every((ac, i) => {
    const ec = e.commands[i]!;
    if (ac.utility !== ec.utility || ac.wrappers.join(' ') !== ec.wrappers.join(' ')) return false;
    if (ac.assignments.join(' ') !== ec.assignments.join(' ')) return false;
    const redirects = (c: typeof ac): string => c.redirects.map((r) => `${r.fd ?? ''}${r.op}${r.target}`).join(' ');
    if (redirects(ac) !== redirects(ec)) return false;
    const ar = toolCanonicalArgv(ac.argv);
    const er = toolCanonicalArgv(ec.argv);
    if (ar && er) return ar.join('\u0000') === er.join('\u0000');
    return canonicalArgv(ac.argv).join('\u0000') === canonicalArgv(ec.argv).join('\u0000');
  });
}

function tokens(canonical: string): string[] {
  return canonical.split(/\s+/).filter((t) => t.length > 0);
}

function closest(e: ParsedCommandLine, approved: readonly ParsedCommandLine[]): ParsedCommandLine | undefined {
  let best: ParsedCommandLine | undefined;
  let score = -1;
  const et = new Set(tokens(e.canonical));
  for (const a of approved) {
    const at = new Set(tokens(a.canonical));
    const inter = [...et].filter((t) => at.has(t)).length;
    const s = inter / (et.size + at.size - inter || 1);
    if (s > score) {
      score = s;
      best = a;
    }
  }
  return score > 0.2 ? best : undefined;
}

/** When the approved command holds `$VAR`s and the executed one equals it with concrete values there. */
function variableExplains(approved: string, executed: string): string | undefined {
  const vars = [...approved.matchAll(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g)]
    .map((m) => m[1] ?? '')
    .filter((v) => v !== 'HOME');
  if (vars.length === 0) return undefined;
  const pattern = approved
    .split(/(\$\{?[A-Za-z_][A-Za-z0-9_]*\}?)/)
    .map((part) =>
      /^\$\{?[A-Za-z_]/.test(part) && !/^\$\{?HOME\}?$/.test(part)
        ? '(\\S+?)'
        : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
    )
    .join('');
  const m = new RegExp(`^${pattern}$`).exec(executed);
  if (!m) return undefined;
  const values = m.slice(1);
  if (values.some((v) => /^(\/|~|\$HOME|\*|\/\*|\.\.)$/.test(v ?? ''))) return undefined; // sweeping value: not a fill
  return vars.map((v, k) => `\`$${v}\` (= \`${values[k] ?? ''}\`)`).join(', ');
}

/** Names what differs between an approved and an executed command line. */
function describeDiff(approved: ParsedCommandLine, executed: ParsedCommandLine): string {
  const at = tokens(approved.canonical);
  const et = tokens(executed.canonical);
  const added = et.filter((t) => !at.includes(t));
  const removed = at.filter((t) => !et.includes(t));
  const structural = added.filter((t) => ['&&', '||', ';', '|', '>', '>>', '&'].includes(t));
  const parts: string[] = [];
  const extraCommands = executed.commands.filter((c) => !approved.commands.some((a) => a.utility === c.utility));
  if (extraCommands.length > 0 && structural.length > 0)
    parts.push(`adds command ${extraCommands.map((c) => q(c.argv.join(' '))).join(', ')}`);
  const flags = added.filter((t) => t.startsWith('-'));
  if (flags.length > 0) parts.push(`adds flag ${flags.map((f) => f).join(' ')}`);
  const values = added.filter((t) => !t.startsWith('-') && !structural.includes(t));
  if (values.length > 0 && removed.length > 0)
    parts.push(
      `changes ${
        removed
          .filter((t) => !t.startsWith('-'))
          .map(q)
          .join(' ') || removed.map(q).join(' ')
      } to ${values.map(q).join(' ')}`,
    );
  else if (values.length > 0) parts.push(`adds ${values.map(q).join(' ')}`);
  else if (removed.length > 0) parts.push(`drops ${removed.map(q).join(' ')}`);
  if (structural.length > 0 && extraCommands.length === 0) parts.push(`adds ${structural.map(q).join(' ')}`);
  const what = parts.length > 0 ? parts.join(', ') : 'differs in structure';
  return `executed ${q(executed.text)} ${what} not in approved ${q(approved.text)}`;
}
