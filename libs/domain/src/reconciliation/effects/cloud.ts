/** aws, gcloud, az: the operation's verb decides (`describe-instances`, `delete`, `set-desired-capacity` …). */
import { hasOpt, opt, readArgv, type ArgvSpec } from './argv.js';
import type { EffectClass } from './effect.types.js';
import { effect, int, verbClass, type ToolModel, type VerbTable } from './tool-model.js';

const VERBS: VerbTable = {
  describe: 'read-only',
  list: 'read-only',
  get: 'read-only',
  head: 'read-only',
  ls: 'read-only',
  show: 'read-only',
  wait: 'read-only',
  lookup: 'read-only',
  search: 'read-only',
  filter: 'read-only',
  check: 'read-only',
  query: 'read-only',
  logs: 'read-only',
  tail: 'read-only',
  validate: 'read-only',
  simulate: 'read-only',
  estimate: 'read-only',
  read: 'read-only',
  view: 'read-only',
  'print-access-token': 'read-only',
  whoami: 'read-only',
  'get-caller-identity': 'read-only',
  create: 'create',
  run: 'create',
  put: 'create',
  copy: 'create',
  cp: 'create',
  mb: 'create',
  import: 'create',
  register: 'create',
  add: 'create',
  deploy: 'create',
  allocate: 'create',
  upload: 'create',
  tag: 'modify',
  publish: 'create',
  sync: 'create',
  attach: 'modify',
  associate: 'modify',
  update: 'modify',
  modify: 'modify',
  set: 'modify',
  patch: 'modify',
  enable: 'modify',
  disable: 'modify',
  replace: 'modify',
  rotate: 'modify',
  grant: 'modify',
  revoke: 'modify',
  config: 'modify',
  move: 'modify',
  mv: 'modify',
  detach: 'modify',
  disassociate: 'modify',
  untag: 'modify',
  resize: 'scale',
  scale: 'scale',
  start: 'restart',
  stop: 'restart',
  reboot: 'restart',
  restart: 'restart',
  reset: 'restart',
  deallocate: 'restart',
  suspend: 'restart',
  resume: 'restart',
  redeploy: 'restart',
  failover: 'restart',
  delete: 'delete',
  remove: 'delete',
  rm: 'delete',
  rb: 'delete',
  terminate: 'delete',
  deregister: 'delete',
  release: 'delete',
  purge: 'destroy-data',
  destroy: 'destroy-data',
  ssh: 'exec-remote',
  scp: 'network-egress',
  'execute-command': 'exec-remote',
  'send-command': 'exec-remote',
  'start-session': 'exec-remote',
  invoke: 'exec-remote',
};
const SPEC: ArgvSpec = {
  values: [
    '--region',
    '--profile',
    '--project',
    '--zone',
    '--subscription',
    '--resource-group',
    '-g',
    '-n',
    '--name',
    '--cluster',
    '--service',
    '--desired-count',
    '--desired-capacity',
    '--num-nodes',
    '--size',
    '--instance-ids',
    '--instance-id',
    '--db-instance-identifier',
    '--bucket',
    '--key',
    '--function-name',
    '--query',
    '--output',
    '-o',
    '--auto-scaling-group-name',
    '--min-size',
    '--max-size',
    '--instance-count',
    '--count',
    '--replicas',
    '--min-replicas',
    '--max-replicas',
    '--location',
    '-l',
    '--image',
    '--version',
    '--engine-version',
    '--kubernetes-version',
    '--node-count',
    '--format',
    '--filter',
    '--endpoint-url',
    '--include',
    '--exclude',
    '--stack-name',
    '--table-name',
    '--template-body',
  ],
  aliases: { '-g': 'resource-group', '-n': 'name', '-o': 'output', '-l': 'location', '-y': 'yes' },
};
const COUNT = [
  'desired-count',
  'desired-capacity',
  'num-nodes',
  'size',
  'instance-count',
  'count',
  'replicas',
  'node-count',
  'min-replicas',
];
const NAME = [
  'name',
  'cluster',
  'service',
  'instance-ids',
  'instance-id',
  'db-instance-identifier',
  'bucket',
  'function-name',
  'auto-scaling-group-name',
  'stack-name',
  'table-name',
];

export const cloudModel: ToolModel = {
  tools: ['aws', 'gcloud', 'az', 'gsutil', 'eksctl', 'doctl'],
  argvSpec: () => SPEC,
  classify(utility, args) {
    const r = readArgv(args, SPEC);
    const words = r.positionals;
    // the operation is the last word the table knows (`aws ec2 describe-instances`, `gcloud compute instances delete vm-1`)
    let verbIndex = -1;
    for (let i = 0; i < words.length; i += 1)
      if (verbClass(VERBS, words[i] ?? '') !== undefined) {
        verbIndex = i;
        if (utility === 'aws') break;
      }
    if (utility === 'gcloud' || utility === 'az') {
      // the verb comes after the groups; names after it are resources
      verbIndex = words.findIndex((w, i) => i > 0 && verbClass(VERBS, w) !== undefined);
      if (verbIndex < 0) verbIndex = words.findIndex((w) => verbClass(VERBS, w) !== undefined);
    }
    const verb = words[verbIndex] ?? words[words.length - 1] ?? '';
    let cls: EffectClass = verbClass(VERBS, verb) ?? 'modify';
    const count = COUNT.map((c) => int(opt(r, c))).find((n) => n !== undefined);
    if (count !== undefined && cls === 'modify') cls = 'scale';
    if (/^set-desired-capacity|update-nodegroup-config|scale/.test(verb)) cls = 'scale';
    const recursive = hasOpt(r, 'recursive', 'force', 'r') && cls === 'delete';
    if (recursive) cls = 'destroy-data';
    if (verb === 'sync' && hasOpt(r, 'delete')) cls = 'delete';
    const s3 = words.filter((w) => /^(s3|gs):\/\//.test(w));
    const resources = [
      ...NAME.flatMap((n) => r.options.get(n) ?? []),
      ...words.slice(verbIndex + 1).filter((w) => !/^(s3|gs):\/\//.test(w)),
      ...s3,
    ];
    const context = opt(r, 'profile') ?? opt(r, 'project') ?? opt(r, 'subscription') ?? opt(r, 'resource-group');
    return effect(
      utility,
      words.slice(0, verbIndex + 1).join(' '),
      cls,
      {
        resources,
        context,
        replicas: count,
        version:
          opt(r, 'version') ??
          opt(r, 'engine-version') ??
          opt(r, 'kubernetes-version') ??
          opt(r, 'image')?.split(':')[1],
      },
      recursive || (verb === 'sync' && hasOpt(r, 'delete')) ? 'all' : 'one',
    );
  },
};
