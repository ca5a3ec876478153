/** kubectl and helm. */
import { hasOpt, opt, readArgv, type ArgvSpec } from './argv.js';
import type { CommandEffect, EffectClass } from './effect.types.js';
import { effect, int, type ToolModel, type VerbTable } from './tool-model.js';

const KUBECTL: ArgvSpec = {
  values: [
    '-n',
    '--namespace',
    '--context',
    '--cluster',
    '--kubeconfig',
    '-l',
    '--selector',
    '-o',
    '--output',
    '--replicas',
    '-f',
    '--filename',
    '-c',
    '--container',
    '--image',
    '--timeout',
    '--grace-period',
    '--field-selector',
    '-p',
    '--patch',
    '--type',
    '--sort-by',
    '--since',
    '--tail',
    '--user',
    '-s',
    '--server',
    '--cascade',
    '--to-revision',
    '--current-replicas',
    '--min',
    '--max',
    '--dry-run',
    '--port',
    '--overrides',
  ],
  aliases: {
    '-n': 'namespace',
    '-A': 'all-namespaces',
    '-l': 'selector',
    '-o': 'output',
    '-f': 'filename',
    '-c': 'container',
    '-p': 'patch',
    '-s': 'server',
    '-i': 'stdin',
    '-t': 'tty',
    '-w': 'watch',
    '-R': 'recursive',
  },
};

const KUBECTL_VERBS: VerbTable = {
  get: 'read-only',
  describe: 'read-only',
  logs: 'read-only',
  top: 'read-only',
  explain: 'read-only',
  'api-resources': 'read-only',
  'api-versions': 'read-only',
  version: 'read-only',
  'cluster-info': 'read-only',
  diff: 'read-only',
  events: 'read-only',
  auth: 'read-only',
  wait: 'read-only',
  apply: 'modify',
  create: 'create',
  run: 'create',
  expose: 'create',
  edit: 'modify',
  patch: 'modify',
  set: 'modify',
  label: 'modify',
  annotate: 'modify',
  replace: 'modify',
  cordon: 'modify',
  uncordon: 'modify',
  taint: 'modify',
  scale: 'scale',
  autoscale: 'scale',
  delete: 'delete',
  drain: 'restart',
  exec: 'exec-remote',
  attach: 'exec-remote',
  cp: 'modify',
  'port-forward': 'network-egress',
  proxy: 'network-egress',
  debug: 'exec-remote',
};
const ROLLOUT: VerbTable = {
  status: 'read-only',
  history: 'read-only',
  restart: 'restart',
  undo: 'modify',
  pause: 'modify',
  resume: 'modify',
};
const CONFIG: VerbTable = {
  view: 'read-only',
  'get-contexts': 'read-only',
  'current-context': 'read-only',
  'get-clusters': 'read-only',
};
/** Deleting these loses stored data or everything inside them. */
const DATA_KINDS =
  /^(pvc|pv|persistentvolumeclaims?|persistentvolumes?|ns|namespaces?|statefulsets?|sts|secrets?|crd|customresourcedefinitions?)$/i;

function kubectl(
  args: readonly string[],
  fedByPipe: boolean,
  inner: (argv: readonly string[]) => CommandEffect | undefined,
): CommandEffect {
  const r = readArgv(args, KUBECTL);
  const [verb = '', ...rest] = r.positionals;
  let action = verb;
  let cls: EffectClass = KUBECTL_VERBS[verb] ?? 'modify';
  let names = rest;
  if (verb === 'rollout') {
    action = `rollout ${rest[0] ?? ''}`;
    cls = ROLLOUT[rest[0] ?? ''] ?? 'modify';
    names = rest.slice(1);
  } else if (verb === 'config') {
    action = `config ${rest[0] ?? ''}`;
    cls = CONFIG[rest[0] ?? ''] ?? 'modify';
    names = rest.slice(1);
  } else if (verb === 'set' || verb === 'auth') {
    action = `${verb} ${rest[0] ?? ''}`;
    names = rest.slice(1);
  }
  const all = hasOpt(r, 'all', 'all-namespaces', 'selector', 'field-selector') || fedByPipe;
  const kind = (names[0] ?? '').split('/')[0] ?? '';
  if (cls === 'delete' && (names.some((n) => DATA_KINDS.test(n.split('/')[0] ?? '')) || DATA_KINDS.test(kind)))
    cls = 'destroy-data';
  const named = names.length >= 2 || names.some((n) => n.includes('/')) || hasOpt(r, 'filename');
  const mutating = cls !== 'read-only' && cls !== 'network-egress';
  const typeOnly = !named && names.length === 1 && ['rollout', 'set', 'label', 'annotate'].includes(verb);
  const blast =
    mutating && hasOpt(r, 'all-namespaces')
      ? 'whole'
      : mutating && (all || typeOnly || /^(ns|namespaces?|nodes?)$/i.test(kind))
        ? 'all'
        : 'one';
  const namespace = hasOpt(r, 'all-namespaces') ? '*' : opt(r, 'namespace');
  const runs = cls === 'exec-remote' && r.rest.length > 0 ? inner(r.rest) : undefined;
  const image = opt(r, 'image') ?? (verb === 'set' ? names.find((n) => n.includes('=')) : undefined);
  return effect(
    'kubectl',
    action,
    cls,
    {
      resources: names.filter((n) => !n.includes('=')),
      namespace,
      context: opt(r, 'context') ?? opt(r, 'cluster'),
      replicas: int(opt(r, 'replicas')),
      version: image?.split(':').pop(),
      paths: r.options.get('filename') ?? [],
    },
    blast,
    runs,
  );
}

const HELM: ArgvSpec = {
  values: [
    '-n',
    '--namespace',
    '--kube-context',
    '--version',
    '-f',
    '--values',
    '--set',
    '--set-string',
    '--timeout',
    '-o',
    '--output',
    '--revision',
    '--repo',
  ],
  aliases: { '-n': 'namespace', '-f': 'values', '-o': 'output', '-A': 'all-namespaces', '-a': 'all' },
};
const HELM_VERBS: VerbTable = {
  list: 'read-only',
  ls: 'read-only',
  status: 'read-only',
  get: 'read-only',
  history: 'read-only',
  hist: 'read-only',
  template: 'read-only',
  show: 'read-only',
  inspect: 'read-only',
  search: 'read-only',
  lint: 'read-only',
  version: 'read-only',
  env: 'read-only',
  diff: 'read-only',
  verify: 'read-only',
  test: 'read-only',
  install: 'create',
  upgrade: 'modify',
  rollback: 'modify',
  uninstall: 'delete',
  delete: 'delete',
  del: 'delete',
  un: 'delete',
  repo: 'modify',
  pull: 'network-egress',
  fetch: 'network-egress',
  dependency: 'modify',
  push: 'network-egress',
};

function helm(args: readonly string[]): CommandEffect {
  const r = readArgv(args, HELM);
  const [verb = '', ...rest] = r.positionals;
  let cls = HELM_VERBS[verb] ?? 'modify';
  if (verb === 'repo' && /^(list|ls)$/.test(rest[0] ?? '')) cls = 'read-only';
  const version = opt(r, 'version') ?? (verb === 'rollback' ? rest[1] : undefined);
  return effect(
    'helm',
    verb,
    cls,
    {
      resources: rest.slice(0, 1),
      namespace: hasOpt(r, 'all-namespaces') ? '*' : opt(r, 'namespace'),
      context: opt(r, 'kube-context'),
      version,
      replicas: int(/(?:^|,)(?:[\w.]*replica[\w]*)=(\d+)/i.exec((r.options.get('set') ?? []).join(','))?.[1]),
    },
    rest.length === 0 && cls !== 'read-only' ? 'all' : 'one',
  );
}

export const kubernetesModel: ToolModel = {
  tools: ['kubectl', 'oc', 'helm', 'k'],
  argvSpec: (utility) => (utility === 'helm' ? HELM : KUBECTL),
  classify: (utility, args, context) =>
    utility === 'helm' ? helm(args) : kubectl(args, context.fedByPipe, context.classifyInner),
};
