import type { ArgvSpec } from './argv.js';
import type { BlastRadius, CommandEffect, EffectClass, EffectTargets } from './effect.types.js';

export interface ClassifyContext {
  /** The command's arguments come (partly) from a pipe: `… | xargs docker rmi`. */
  readonly fedByPipe: boolean;
  /** The effect of a command this one runs (`ssh host CMD`, `kubectl exec … -- CMD`). */
  classifyInner(argv: readonly string[]): CommandEffect | undefined;
}

/** One tool family: which utilities it knows and how it reads their argv. */
export interface ToolModel {
  readonly tools: readonly string[];
  /** How to read a tool's argv (which options take values, aliases): two argv read alike are the same command. */
  argvSpec?(utility: string, args: readonly string[]): ArgvSpec | undefined;
  /** Subcommand spellings that mean the same (`docker container rm` → `rm`), applied after reading argv. */
  canonicalPositionals?(utility: string, positionals: readonly string[]): readonly string[];
  classify(utility: string, args: readonly string[], context: ClassifyContext): CommandEffect | undefined;
}

/** Subcommand (or verb) → class: the data most models are made of. */
export type VerbTable = Readonly<Record<string, EffectClass>>;

export function effect(
  tool: string,
  action: string,
  classes: EffectClass | readonly EffectClass[],
  targets: EffectTargets = {},
  blast: BlastRadius = 'one',
  inner?: CommandEffect,
): CommandEffect {
  const list = typeof classes === 'string' ? [classes] : [...new Set(classes)];
  return { tool, action, classes: list, targets: compact(targets), blast, ...(inner ? { inner } : {}) };
}

function compact(t: EffectTargets): EffectTargets {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(t))
    if (v !== undefined && v !== '' && !(Array.isArray(v) && v.length === 0)) out[k] = v;
  return out as EffectTargets;
}

/** The class of a verb by table, with prefix matching for verb families (`describe-instances` → `describe`). */
export function verbClass(table: VerbTable, verb: string): EffectClass | undefined {
  if (table[verb] !== undefined) return table[verb];
  const head = verb.split(/[-_]/)[0] ?? verb;
  return table[head];
}

export const int = (value: string | undefined): number | undefined =>
  value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;

/** Host part of a URL, `user@host`, `user@host:path` or `host:path`. */
export function hostOf(word: string): string | undefined {
  const url = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/]*@)?([^/:?#]+)/i.exec(word);
  if (url) return url[1];
  const remote = /^(?:[\w.-]+@)?([\w.-]+):(?!\/\/)/.exec(word);
  if (remote && !/^[A-Za-z]$/.test(remote[1] ?? '')) return remote[1];
  const at = /^[\w.-]+@([\w.-]+)$/.exec(word);
  if (at) return at[1];
  return undefined;
}
