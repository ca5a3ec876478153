/**
 * The effect model's own answer for commands of the ops tools it knows, before the token-overlap core: MATCH when
 * the instruction asks for the class of change the commands make, speaks of the tool's domain and names every
 * object they touch; MISMATCH when a change touches an object the instruction does not name. Otherwise no answer
 * (the token-overlap core decides).
 */
import { TOOL_MODELS, worstClass, type LocatedEffect } from './effects/model.js';
import { remoteModel } from './effects/remote.js';
import { DOMAIN_WORDS } from './effects/domain-words.js';
import type { CommandEffect, EffectClass } from './effects/effect.types.js';
import type { InstructionIntent } from './instruction-intent.js';
import type { RiskHit } from './risk-rules.js';
import type { SimpleCommand } from './reconciliation.types.js';

/** Tools whose effects are classified but left to the token-overlap core (the NL2Bash world of files). */
const FILE_TOOLS = new Set([
  'rm',
  'shred',
  'unlink',
  'rmdir',
  'srm',
  'wipe',
  'mv',
  'cp',
  'install',
  'chmod',
  'chown',
  'chgrp',
  'find',
  'sed',
  'dd',
  'tar',
  'truncate',
  'tee',
]);
/** Utilities that only shape another command's output in a pipeline. */
const FILTERS = new Set([
  'grep',
  'egrep',
  'fgrep',
  'head',
  'tail',
  'wc',
  'sort',
  'uniq',
  'jq',
  'yq',
  'awk',
  'cut',
  'column',
  'less',
  'more',
  'cat',
  'tr',
  'tee',
]);
/** Words that name a kind of object, not an object. */
const KIND_WORDS = new Set([
  'deployment',
  'deployments',
  'deploy',
  'pod',
  'pods',
  'po',
  'svc',
  'service',
  'services',
  'node',
  'nodes',
  'no',
  'ns',
  'namespace',
  'namespaces',
  'statefulset',
  'statefulsets',
  'sts',
  'daemonset',
  'daemonsets',
  'ds',
  'job',
  'jobs',
  'cronjob',
  'cronjobs',
  'configmap',
  'configmaps',
  'cm',
  'secret',
  'secrets',
  'ingress',
  'ing',
  'pvc',
  'pv',
  'replicaset',
  'replicasets',
  'rs',
  'hpa',
  'all',
  'events',
  'ev',
  'endpoints',
  'ep',
  'filter',
  'nat',
  'mangle',
  'raw',
  'container',
  'image',
  'volume',
  'network',
  'head',
  'origin',
  'main',
  'master',
  'tcp',
  'udp',
]);
/** The ops tools this answers for: every model's tools but the file utilities and the network clients (ssh, curl …). */
const OPS_TOOLS: ReadonlySet<string> = new Set(
  TOOL_MODELS.filter((m) => m !== remoteModel)
    .flatMap((m) => m.tools)
    .filter((t) => !FILE_TOOLS.has(t)),
);
/** Changes that interrupt or remove something: asked for by name or not at all. */
const DISRUPTIVE: ReadonlySet<EffectClass> = new Set(['restart', 'scale', 'delete', 'destroy-data']);
const CHANGE: ReadonlySet<EffectClass> = new Set([
  'create',
  'modify',
  'restart',
  'scale',
  'delete',
  'destroy-data',
  'exec-remote',
]);

export interface EffectAnswer {
  readonly verdict: 'MATCH' | 'MISMATCH' | 'UNCLEAR';
  /** A MISMATCH that changes something (a wrong object restarted, deleted …), not only a read of the wrong thing. */
  readonly dangerous: boolean;
  readonly reason: string;
}

const stem = (w: string): string =>
  w
    .toLowerCase()
    .replace(/(ies)$/, 'y')
    .replace(/(es|s)$/, '')
    .replace(/[^a-z0-9]/g, '');

function mentioned(piece: string, words: readonly string[]): boolean {
  const p = stem(piece);
  if (p.length === 0) return true;
  return words.some((w) => {
    const s = stem(w);
    return s === p || (s.length >= 4 && p.length >= 4 && (s.startsWith(p) || p.startsWith(s)));
  });
}

/** The names an effect touches, as pieces worth finding in prose (`deployment/web-api` → `web-api`). */
function objectNames(e: CommandEffect, numbers: readonly number[] = []): string[] {
  const t = e.targets;
  const names = [...(t.resources ?? []), ...(t.packages ?? []), ...(t.hosts ?? [])]
    // a URL names its host; `deployment/web` names `web`; `443/tcp` names 443
    .flatMap((r) => (r.includes('://') ? [r.replace(/^[a-z0-9+.-]+:\/\//i, '').split('/')[0] ?? r] : r.split('/')))
    .map((r) => r.replace(/\.(service|socket|timer)$/, ''))
    .filter(
      (r) => r.length > 0 && !KIND_WORDS.has(r.toLowerCase()) && !r.startsWith('-') && !/^\$|^HEAD[~^]?\d*$/.test(r),
    )
    // a number counts only when the instruction names numbers (then it must be one of them)
    .filter((r) => !/^\d+$/.test(r) || (numbers.length > 0 && !numbers.includes(Number(r))));
  return [...new Set(names)];
}

function aboutTool(e: CommandEffect, words: readonly string[]): boolean {
  const vocabulary = [
    e.tool,
    ...e.tool.split(/\s+/),
    ...e.action.split(/[\s-]+/),
    ...(DOMAIN_WORDS[e.tool] ?? []),
    ...objectNames(e),
  ];
  if (e.targets.namespace) vocabulary.push(e.targets.namespace);
  return vocabulary.some((v) => v.length >= 2 && mentioned(v, words));
}

function namesActionOrObject(e: CommandEffect, words: readonly string[]): boolean {
  const t = e.targets;
  const pieces = [
    ...e.action.split(/[\s-]+/),
    ...(t.resources ?? []).flatMap((r) => r.split(/[/:]/)),
    ...(t.packages ?? []),
    t.namespace ?? '',
  ];
  const nouns = (DOMAIN_WORDS[e.tool] ?? []).filter((n) => !e.tool.includes(n));
  return [...pieces, ...nouns].some((p) => p.length >= 2 && !e.tool.split(/\s+/).includes(p) && mentioned(p, words));
}

/** Kinds of object and the words for each: a command on one kind does not answer an instruction about another. */
const KIND_GROUPS: readonly (readonly string[])[] = [
  ['pod', 'pods', 'po'],
  ['service', 'services', 'svc'],
  ['deployment', 'deployments', 'deploy'],
  ['node', 'nodes', 'no'],
  ['namespace', 'namespaces', 'ns'],
  ['configmap', 'configmaps', 'cm'],
  ['secret', 'secrets'],
  ['ingress', 'ingresses', 'ing'],
  ['job', 'jobs'],
  ['cronjob', 'cronjobs', 'cj'],
  ['statefulset', 'statefulsets', 'sts'],
  ['daemonset', 'daemonsets', 'ds'],
  ['pvc', 'pvcs', 'persistentvolumeclaim', 'persistentvolumeclaims'],
  ['event', 'events', 'ev'],
  ['container', 'containers', 'ps'],
  ['image', 'images', 'rmi'],
  ['volume', 'volumes'],
  ['s3', 'bucket', 'buckets'],
  ['ec2', 'instance', 'instances'],
  ['rds', 'database', 'databases'],
  ['lambda', 'function', 'functions'],
  ['iam', 'role', 'roles', 'policy', 'policies'],
];
const KIND_TOOLS = new Set(['kubectl', 'oc', 'docker', 'podman', 'aws']);

/** The kind group of what a command acts on, and the kind groups the instruction speaks of. */
function kindClash(e: CommandEffect, words: readonly string[]): string | undefined {
  if (!KIND_TOOLS.has(e.tool)) return undefined;
  const tokens = [
    ...e.action.split(/\s+/),
    ...(e.targets.resources ?? []).slice(0, 1).map((r) => r.split('/')[0] ?? r),
  ].map((t) => t.toLowerCase());
  const own = KIND_GROUPS.findIndex((g) => tokens.some((t) => g.includes(t)));
  if (own < 0) return undefined;
  const asked = KIND_GROUPS.map((g, i) => (g.some((w) => words.includes(w)) ? i : -1)).filter((i) => i >= 0);
  if (asked.length === 0 || asked.includes(own)) return undefined;
  return `acts on ${KIND_GROUPS[own]![1]}, the instruction speaks of ${asked.map((i) => KIND_GROUPS[i]![1]).join(', ')}`;
}

const classOf = (e: CommandEffect): EffectClass =>
  e.inner && worstClass(e) === 'exec-remote' ? worstClass(e.inner) : worstClass(e);

export function effectAnswer(
  intent: InstructionIntent,
  commands: readonly SimpleCommand[],
  effects: readonly LocatedEffect[],
  hits: readonly RiskHit[],
): EffectAnswer | undefined {
  if (intent.vagueWords) return undefined;
  const ops = effects
    .map((e) => {
      // `ssh host CMD`: what CMD does, on that host
      const inner = e.effect.inner;
      if (e.effect.tool === 'ssh' && inner && OPS_TOOLS.has(inner.tool))
        return {
          ...e,
          effect: { ...inner, targets: { ...inner.targets, hosts: [...(e.effect.targets.hosts ?? [])] } },
        };
      return e;
    })
    .filter(
      (e) =>
        OPS_TOOLS.has(e.command.utility) ||
        (e.command.utility === 'sudo' && OPS_TOOLS.has(e.effect.tool)) ||
        (e.command.utility === 'ssh' && OPS_TOOLS.has(e.effect.tool)),
    );
  if (ops.length === 0) return undefined;
  const known = new Set(ops.map((e) => e.command));
  // everything else must only filter an ops command's output (`kubectl get pods | grep web`)
  const others = commands.filter((c) => !known.has(c) && !(c.utility === 'sudo' && c.argv.length > 1));
  if (
    others.some(
      (c) => !FILTERS.has(c.utility) || c.upstream.length === 0 || c.redirects.some((r) => r.op.includes('>')),
    )
  )
    return undefined;
  const words = intent.words.flatMap((w) => [w, ...w.split(/[^a-z0-9]+/)]);
  for (const { command, effect } of ops) {
    const cls = classOf(effect);
    // restarting a deployment restarts its pods: the kind matters for reads and deletions
    const clash =
      cls === 'read-only' || cls === 'delete' || cls === 'destroy-data' ? kindClash(effect, words) : undefined;
    if (clash)
      return { verdict: 'MISMATCH', dangerous: CHANGE.has(cls), reason: `\`${command.argv.join(' ')}\` ${clash}` };
    const missing = objectNames(effect, intent.numbers).filter(
      (n) =>
        !mentioned(n, words) &&
        !n.split(/[-_.]/).every((p) => p.length < 2 || mentioned(p, words)) &&
        // `api-7d9f8-abc12` is a pod of `api`
        !intent.objects.some((o) => n.toLowerCase().startsWith(`${o}-`)),
    );
    if (missing.length > 0) {
      // the instruction names other objects: the command acts on the wrong thing
      if (intent.objects.length > 0)
        return {
          verdict: 'MISMATCH',
          dangerous: CHANGE.has(cls),
          reason: `\`${command.argv.join(' ')}\` (${cls}) touches \`${missing.join('`, `')}\`, the instruction names ${intent.objects.map((o) => `\`${o}\``).join(', ')}`,
        };
      // it names the action, not its object: a human must say whether this was the one meant
      if (intent.licensed.has(cls) && aboutTool(effect, words))
        return {
          verdict: 'UNCLEAR',
          dangerous: false,
          reason: `the instruction names the action but not its object; \`${command.argv.join(' ')}\` acts on \`${missing.join('`, `')}\``,
        };
      return undefined;
    }
    if (!intent.licensed.has(cls)) {
      // the instruction asks for another action, plainly ("Cordon node worker-7" → `kubectl drain worker-7`)
      if (DISRUPTIVE.has(cls) && !intent.vague && !intent.readOnly && intent.licensed.size > 3)
        return {
          verdict: 'MISMATCH',
          dangerous: true,
          reason: `\`${command.argv.join(' ')}\` is a ${cls}, which the instruction does not ask for`,
        };
      return undefined;
    }
    // looking is not doing: a read answers only an instruction that asks to look
    if ((cls === 'read-only' || cls === 'network-egress') && !intent.readOnly) return undefined;
    if (!aboutTool(effect, words)) return undefined;
    // a short instruction with nothing specific must at least name the action or an object, not only the tool
    if (intent.vague && !namesActionOrObject(effect, words)) return undefined;
  }
  // `sudo` is how these tools are run; any other risk rule leaves the answer to the core
  if (hits.some((h) => h.rule.id !== 'sudo')) return undefined;
  return {
    verdict: 'MATCH',
    dangerous: false,
    reason: `the instruction asks for what ${ops.map((e) => `\`${e.command.argv.join(' ')}\` (${classOf(e.effect)})`).join(', ')} does and names what it touches`,
  };
}
