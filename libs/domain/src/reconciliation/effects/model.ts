/**
 * The effect model: what a parsed simple command does. One table/module per tool family (see the files next to
 * this one); this file only dispatches, sees through wrappers and adds what the shell around the command adds
 * (`sudo` → privilege, input from a pipe → every object the pipe names).
 */
import type { ParsedCommandLine, SimpleCommand } from '../reconciliation.types.js';
import { readArgv } from './argv.js';
import { cloudModel } from './cloud.js';
import { containersModel } from './containers.js';
import { databasesModel } from './databases.js';
import type { CommandEffect, EffectClass } from './effect.types.js';
import { filesModel } from './files.js';
import { firewallModel } from './firewall.js';
import { gitModel } from './git.js';
import { infraModel } from './infra.js';
import { kubernetesModel } from './kubernetes.js';
import { packagesModel } from './packages.js';
import { processesModel } from './processes.js';
import { remoteModel } from './remote.js';
import { schedulingModel } from './scheduling.js';
import { servicesModel } from './services.js';
import { effect, type ClassifyContext, type ToolModel } from './tool-model.js';

export const TOOL_MODELS: readonly ToolModel[] = [
  kubernetesModel,
  containersModel,
  gitModel,
  servicesModel,
  firewallModel,
  schedulingModel,
  packagesModel,
  databasesModel,
  cloudModel,
  infraModel,
  remoteModel,
  filesModel,
  processesModel,
];

/** Utilities that only read (the rest of what agents run to look around). */
const READ_ONLY = new Set([
  'ls',
  'cat',
  'head',
  'tail',
  'less',
  'more',
  'grep',
  'egrep',
  'fgrep',
  'rg',
  'wc',
  'du',
  'df',
  'ps',
  'top',
  'htop',
  'uptime',
  'free',
  'echo',
  'printf',
  'stat',
  'file',
  'which',
  'whoami',
  'date',
  'hostname',
  'uname',
  'id',
  'sort',
  'uniq',
  'cut',
  'tr',
  'awk',
  'column',
  'jq',
  'yq',
  'ping',
  'dig',
  'nslookup',
  'host',
  'netstat',
  'ss',
  'lsof',
  'vmstat',
  'iostat',
  'dmesg',
  'lsblk',
  'blkid',
  'pwd',
  'tree',
  'diff',
  'md5sum',
  'sha256sum',
  'base64',
  'env',
  'printenv',
  'w',
  'who',
  'last',
  'getent',
  'nproc',
  'lscpu',
  'uname',
  'traceroute',
  'mtr',
  'openssl',
  'zcat',
  'test',
  'true',
  'false',
  'basename',
  'dirname',
  'realpath',
  'readlink',
  'xxd',
  'od',
  'strings',
  'nl',
  'fold',
  'seq',
  'sleep',
  'watch',
  'timedatectl',
  'hostnamectl',
  'loginctl',
  'sar',
  'pidof',
  'pgrep',
  'lsmod',
  'ip',
  'tac',
  'rev',
  'comm',
  'join',
  'paste',
  'expand',
]);

const MAX_DEPTH = 4;
/** Pipe stages that select some of their input rather than list everything. */
const PICKERS = new Set([
  'find',
  'grep',
  'egrep',
  'fgrep',
  'rg',
  'awk',
  'gawk',
  'sed',
  'head',
  'tail',
  'cut',
  'jq',
  'locate',
  'comm',
  'diff',
  'pgrep',
]);

function classifyArgv(argv: readonly string[], fedByPipe: boolean, depth: number): CommandEffect | undefined {
  const written = (argv[0] ?? '').split('/').pop()?.replace(/^\\/, '') ?? '';
  const utility = /^mkfs(\.|$)/.test(written) ? 'mkfs' : written;
  const args = argv.slice(1);
  if (utility === 'sudo' || utility === 'doas') {
    const start = args.findIndex((a) => !a.startsWith('-'));
    const inner = start >= 0 && depth < MAX_DEPTH ? classifyArgv(args.slice(start), fedByPipe, depth + 1) : undefined;
    return inner ? withClass(inner, 'privilege') : effect(utility, utility, 'privilege');
  }
  const context: ClassifyContext = {
    fedByPipe,
    classifyInner: (inner) => (depth < MAX_DEPTH ? classifyArgv(inner, false, depth + 1) : undefined),
  };
  for (const model of TOOL_MODELS)
    if (model.tools.includes(utility)) {
      const found = model.classify(utility, args, context);
      if (found) return found;
    }
  if (
    utility === 'ip' &&
    /^(link|addr|address|route|rule|neigh)$/.test(args[0] ?? '') &&
    /^(add|del|delete|set|flush|change|replace)$/.test(args[1] ?? '')
  )
    return effect(
      'ip',
      `${args[0]} ${args[1]}`,
      /^(del|delete|flush)$/.test(args[1] ?? '') ? 'delete' : 'modify',
      { resources: args.slice(2) },
      args[1] === 'flush' ? 'all' : 'one',
    );
  if (READ_ONLY.has(utility)) return effect(utility, utility, 'read-only');
  return undefined;
}

function withClass(e: CommandEffect, extra: EffectClass): CommandEffect {
  return e.classes.includes(extra) ? e : { ...e, classes: [...e.classes, extra] };
}

/** Effects of parsed commands, which are shared and never changed (command lines are parsed once per text). */
const effects = new WeakMap<SimpleCommand, CommandEffect | null>();

/** The effect of one simple command as the parser found it, or undefined for a tool the model does not know. */
export function commandEffect(command: SimpleCommand): CommandEffect | undefined {
  const known = effects.get(command);
  if (known !== undefined) return known ?? undefined;
  const effect = effectOf(command);
  effects.set(command, effect ?? null);
  return effect;
}

function effectOf(command: SimpleCommand): CommandEffect | undefined {
  // `… | xargs CMD` acts on everything the pipe lists, unless something in the pipe picks (find, grep, awk …)
  const fedByPipe =
    command.wrappers.includes('xargs') && command.upstream.length > 0 && !command.upstream.some((u) => PICKERS.has(u));
  const found = classifyArgv(command.argv, fedByPipe, 0);
  if (!found) return undefined;
  return command.wrappers.includes('sudo') || command.wrappers.includes('doas') ? withClass(found, 'privilege') : found;
}

export interface LocatedEffect {
  readonly command: SimpleCommand;
  readonly effect: CommandEffect;
}

/** The effects of every simple command of some parsed lines that the model knows. */
export function lineEffects(lines: readonly ParsedCommandLine[]): LocatedEffect[] {
  const out: LocatedEffect[] = [];
  for (const line of lines)
    for (const command of line.commands) {
      // a wrapper seen through (`sudo`, `xargs`) is listed once, as the command it runs
      if (
        command.origin !== 'wrapper' &&
        ['sudo', 'xargs', 'doas'].includes(command.utility) &&
        command.argv.length > 1
      )
        continue;
      const e = commandEffect(command);
      if (e) out.push({ command, effect: e });
    }
  return out;
}

/** The worst class of an effect (its own or what it runs). */
export const worstClass = (e: CommandEffect): EffectClass => e.classes[0] ?? 'read-only';

/**
 * The argv of a command the model can read, in a form where harmless spelling differences vanish: `-n x`,
 * `--namespace x` and `--namespace=x` are one option, options sorted, positionals in order, words after `--` kept.
 * Undefined for a tool without an argv reading.
 */
export function toolCanonicalArgv(argv: readonly string[]): string[] | undefined {
  const utility = (argv[0] ?? '').split('/').pop() ?? '';
  const args = argv.slice(1);
  for (const model of TOOL_MODELS) {
    if (!model.tools.includes(utility) || !model.argvSpec) continue;
    const spec = model.argvSpec(utility, args);
    if (!spec) return undefined;
    const read = readArgv(args, spec);
    const options = [...read.options.entries()]
      .map(([name, values]) => `--${name}=${[...values].sort().join('\u0000')}`)
      .sort();
    const positionals = model.canonicalPositionals?.(utility, read.positionals) ?? read.positionals;
    return [utility, ...positionals, ...options, '--', ...read.rest];
  }
  return undefined;
}
