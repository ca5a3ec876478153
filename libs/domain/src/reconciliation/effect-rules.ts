/**
 * Rules over what the executed commands DO (the effect model) against what the instruction asks (instruction
 * intent). They run before the token-overlap core and only ever find mismatches; each names the command, the
 * effect and the words of the instruction it contradicts.
 */
import { EFFECT_RANK, type CommandEffect, type EffectClass } from './effects/effect.types.js';
import { worstClass, type LocatedEffect } from './effects/model.js';
import { DOMAIN_WORDS } from './effects/domain-words.js';
import { environmentsIn, type InstructionIntent } from './instruction-intent.js';
import type { RiskHit } from './risk-rules.js';
import type { FindingKind, Severity, SimpleCommand } from './reconciliation.types.js';
import { editDistance, WELL_KNOWN_PACKAGES } from './well-known-packages.js';

export type EffectFindingKind = FindingKind;

export interface EffectFinding {
  readonly kind: EffectFindingKind;
  readonly severity: Severity;
  /** A dangerous mismatch: never a MATCH, never sent to the judge. */
  readonly dangerous: boolean;
  readonly reason: string;
}

const MUTATING = (c: EffectClass): boolean => EFFECT_RANK[c] >= EFFECT_RANK.create && c !== 'privilege';
const q = (e: LocatedEffect): string => `\`${e.command.argv.join(' ')}\``;

/** The class that decides for a command that runs another (`ssh host CMD`): what that command does. */
function effectiveClass(e: CommandEffect): EffectClass {
  if (e.inner && worstClass(e) === 'exec-remote') return worstClass(e.inner);
  if (e.inner && e.classes.includes('read-only')) return 'read-only';
  return worstClass(e);
}

const severityOf = (cls: EffectClass, blast: CommandEffect['blast']): Severity =>
  cls === 'destroy-data' || (cls === 'delete' && blast !== 'one')
    ? 'critical'
    : cls === 'delete' || blast === 'whole'
      ? 'high'
      : 'medium';

const DECODE =
  /\b(base64\s+(-d|--decode|-D)|b64decode|base32\s+-d|xxd\s+-r|openssl\s+(enc\s+)?-d|fromCharCode|atob\(|decode\()/i;

export function decodeAndExecute(hits: readonly RiskHit[], commands: readonly SimpleCommand[]): string | undefined {
  const pipe = hits.find((h) => h.rule.id === 'pipe_to_shell');
  if (pipe) return `${pipe.reason} in \`${pipe.command.argv.join(' ')}\``;
  for (const command of commands) {
    const code = command.argv.slice(1).join(' ');
    if (
      /^(python[\d.]*|perl|ruby|node|php)$/.test(command.utility) &&
      /(^|\s)-[ce]\b/.test(code) &&
      DECODE.test(code) &&
      /\b(exec|eval|system|os\.system|subprocess|child_process)\b/.test(code)
    )
      return `\`${command.utility}\` executes decoded text`;
  }
  return undefined;
}

/** A reboot or shutdown acts on the whole host by nature: that is its object, not a widening. */
function hostWide(e: CommandEffect): boolean {
  const own =
    /^(shutdown|reboot|halt|poweroff|init|telinit)$/.test(e.tool) ||
    (e.tool === 'systemctl' && /^(reboot|poweroff|halt|kexec)$/.test(e.action));
  return own || (e.inner !== undefined && hostWide(e.inner));
}

/** "Remove the stopped containers": a plural object of the tool's domain asks for every such object. */
function pluralObject(e: CommandEffect, intent: InstructionIntent): boolean {
  const nouns = DOMAIN_WORDS[e.tool] ?? [];
  return intent.words.some((w) => /s$/.test(w) && nouns.some((n) => w === `${n}s` || w === `${n}es`));
}

export interface EffectRuleInput {
  readonly intent: InstructionIntent;
  /** Every simple command that ran (known to the effect model or not). */
  readonly commands: readonly SimpleCommand[];
  readonly effects: readonly LocatedEffect[];
  readonly hits: readonly RiskHit[];
  /** Packages the approved commands install (an approved name is never a typosquat of itself). */
  readonly approvedPackages: readonly string[];
}

export function effectFindings(input: EffectRuleInput): EffectFinding[] {
  const { intent, effects } = input;
  const out: EffectFinding[] = [];
  const decoded = decodeAndExecute(input.hits, input.commands);
  if (decoded)
    out.push({
      kind: 'decode_and_execute',
      severity: 'critical',
      dangerous: true,
      reason: `${decoded}: decoded or downloaded code is executed, which only a verbatim approval allows`,
    });
  for (const e of effects) {
    const cls = effectiveClass(e.effect);
    const { targets, blast } = e.effect;
    const mutating = MUTATING(cls);
    // 1. a reading instruction never covers a change
    if (intent.readOnly && mutating && !intent.vagueWords) {
      out.push({
        kind: 'read_only_violated',
        severity: severityOf(cls, blast),
        dangerous: true,
        reason: `the instruction only asks to look, but ${q(e)} is a ${cls} (${e.effect.tool} ${e.effect.action})`,
      });
      continue;
    }
    // 2. a deletion the instruction's words do not ask for (or one that also destroys data it does not mention)
    if ((cls === 'delete' || cls === 'destroy-data') && intent.licensed.size > 3 && !intent.vagueWords) {
      const hiddenData =
        cls === 'destroy-data' &&
        e.command.argv.some((a) => /^(-v|--volumes|--hard|-[a-z]*f[a-z]*d|-fdx)$/.test(a)) &&
        !/volume|data|everything|wipe|discard|hard|destroy|purge|untracked/i.test(intent.words.join(' '));
      const asked =
        cls === 'destroy-data'
          ? intent.licensed.has('delete') || intent.licensed.has('destroy-data')
          : intent.licensed.has(cls);
      if (!asked || hiddenData) {
        out.push({
          kind: 'action_not_asked',
          severity: severityOf(cls, blast),
          dangerous: true,
          reason: `${q(e)} is a ${cls}${hiddenData ? ' that also destroys stored data' : ''}, which the instruction does not ask for`,
        });
        continue;
      }
    }
    // 3. named parameters the command contradicts
    if (targets.replicas !== undefined && intent.numbers.length > 0 && !intent.numbers.includes(targets.replicas)) {
      out.push({
        kind: 'parameter_changed',
        severity: targets.replicas === 0 ? 'high' : 'medium',
        dangerous: true,
        reason: `${q(e)} sets ${targets.replicas} replicas, the instruction names ${intent.numbers.join(', ')}`,
      });
      continue;
    }
    const delay = targets.delayMinutes ?? e.effect.inner?.targets.delayMinutes;
    if (
      delay !== undefined &&
      intent.numbers.length > 0 &&
      /\b(min|minute|hour|now|immediately)/i.test(intent.words.join(' ')) &&
      !intent.numbers.includes(delay)
    ) {
      out.push({
        kind: 'parameter_changed',
        severity: 'high',
        dangerous: true,
        reason: `${q(e)} acts in ${delay} minutes, the instruction names ${intent.numbers.join(', ')}`,
      });
      continue;
    }
    if (targets.version !== undefined && intent.versions.length > 0 && mutating) {
      const v = targets.version.replace(/^v/, '');
      if (!intent.versions.some((x) => x === v || v.startsWith(`${x}.`) || v.startsWith(`${x}-`))) {
        out.push({
          kind: 'parameter_changed',
          severity: 'medium',
          dangerous: true,
          reason: `${q(e)} uses version ${targets.version}, the instruction names ${intent.versions.join(', ')}`,
        });
        continue;
      }
    }
    if (intent.environments.length > 0) {
      const idents = [
        targets.context,
        targets.namespace,
        ...(targets.hosts ?? []),
        ...(targets.resources ?? []),
        ...e.command.argv.filter((a) => /^(--?env(ironment)?=|ENV=|env=)/i.test(a)),
      ].filter((x): x is string => x !== undefined);
      const other = [...new Set(idents.flatMap(environmentsIn))].filter((env) => !intent.environments.includes(env));
      if (other.length > 0) {
        out.push({
          kind: 'parameter_changed',
          severity: mutating ? 'high' : 'medium',
          dangerous: mutating,
          reason: `${q(e)} targets ${other.join(', ')}, the instruction names ${intent.environments.join(', ')}`,
        });
        continue;
      }
    }
    if (
      targets.namespace === '*' &&
      mutating &&
      !/\b(all|every|each|any|across)\b[^.]*\bnamespaces?\b|cluster-?wide|everywhere|all-namespaces/i.test(
        intent.words.join(' '),
      )
    ) {
      out.push({
        kind: 'scope_widened',
        severity: severityOf(cls, 'whole'),
        dangerous: true,
        reason: `${q(e)} acts in every namespace, the instruction does not ask for all namespaces`,
      });
      continue;
    }
    if (intent.namespaces.length > 0 && /^(kubectl|helm|oc)$/.test(e.effect.tool)) {
      const ns = targets.namespace;
      if (
        ns === '*' ||
        (ns !== undefined && !intent.namespaces.includes(ns.toLowerCase())) ||
        (ns === undefined && !intent.namespaces.includes('default'))
      ) {
        out.push({
          kind: ns === '*' ? 'scope_widened' : 'parameter_changed',
          severity: mutating ? 'high' : 'medium',
          dangerous: mutating,
          reason: `${q(e)} runs in ${ns === '*' ? 'every namespace' : ns === undefined ? 'the default namespace' : `namespace ${ns}`}, the instruction names ${intent.namespaces.join(', ')}`,
        });
        continue;
      }
    }
    if (
      intent.contexts.length > 0 &&
      targets.context !== undefined &&
      /^(kubectl|helm|oc|terraform|tofu|aws|gcloud|az)$/.test(e.effect.tool)
    ) {
      const ctx = targets.context.toLowerCase();
      if (!intent.contexts.some((c) => ctx === c || ctx.includes(c) || c.includes(ctx))) {
        out.push({
          kind: 'parameter_changed',
          severity: mutating ? 'high' : 'medium',
          dangerous: mutating,
          reason: `${q(e)} uses context ${targets.context}, the instruction names ${intent.contexts.join(', ')}`,
        });
        continue;
      }
    }
    const hosts = (targets.hosts ?? []).map((h) => h.toLowerCase());
    if (hosts.length > 0 && intent.hosts.length > 0) {
      const stray = hosts.filter(
        (h) => !intent.hosts.some((n) => n === h || h.startsWith(`${n}.`) || n.startsWith(`${h}.`)),
      );
      if (stray.length > 0) {
        out.push({
          kind: 'parameter_changed',
          severity: 'high',
          dangerous: mutating || e.effect.classes.includes('exec-remote'),
          reason: `${q(e)} reaches ${stray.join(', ')}, the instruction names ${intent.hosts.join(', ')}`,
        });
        continue;
      }
    }
    // 4. one object asked, every object touched
    if (
      mutating &&
      blast !== 'one' &&
      !intent.wide &&
      !intent.vagueWords &&
      intent.objects.length > 0 &&
      !pluralObject(e.effect, intent) &&
      !hostWide(e.effect)
    ) {
      out.push({
        kind: 'scope_widened',
        severity: severityOf(cls, blast),
        dangerous: true,
        reason: `${q(e)} acts on ${blast === 'whole' ? 'the whole cluster, host or disk' : 'every object'}, the instruction does not say all`,
      });
      continue;
    }
    // 5. a package one or two edits from the named one or a well-known one
    if ((cls === 'create' || cls === 'modify') && targets.packages !== undefined) {
      for (const pkg of targets.packages) {
        const name = pkg.toLowerCase();
        if (intent.words.includes(name) || input.approvedPackages.includes(name)) continue;
        const within = (c: string): boolean => {
          const d = editDistance(name, c, 2);
          return d >= 1 && d <= (c.length <= 5 ? 1 : 2);
        };
        // the name the instruction (or the approved list) gives, misspelt; else a well-known package, misspelt
        const near =
          [...intent.words.filter((w) => w.length >= 4), ...input.approvedPackages].find(within) ??
          (WELL_KNOWN_PACKAGES.includes(name) ? undefined : WELL_KNOWN_PACKAGES.find(within));
        if (near) {
          out.push({
            kind: 'typosquat',
            severity: 'critical',
            dangerous: true,
            reason: `${q(e)} installs \`${pkg}\`, one or two letters from \`${near}\`: a likely typosquat`,
          });
          break;
        }
      }
    }
  }
  return out;
}
