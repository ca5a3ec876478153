/** terraform/tofu, ansible, ansible-playbook. */
import { hasOpt, opt, readArgv, type ArgvSpec } from './argv.js';
import type { CommandEffect, EffectClass } from './effect.types.js';
import { effect, type ToolModel, type VerbTable } from './tool-model.js';

const TERRAFORM: VerbTable = {
  plan: 'read-only',
  show: 'read-only',
  output: 'read-only',
  validate: 'read-only',
  fmt: 'modify',
  version: 'read-only',
  providers: 'read-only',
  graph: 'read-only',
  console: 'read-only',
  init: 'create',
  get: 'network-egress',
  apply: 'modify',
  destroy: 'destroy-data',
  import: 'modify',
  taint: 'modify',
  untaint: 'modify',
  refresh: 'modify',
  login: 'modify',
  workspace: 'modify',
  state: 'modify',
  'force-unlock': 'modify',
  test: 'read-only',
};
const TF_SPEC: ArgvSpec = {
  values: ['-chdir', '-var', '-var-file', '-target', '-replace', '-out', '-state', '-parallelism', '-lock-timeout'],
  singleDashLong: true,
};

function terraform(tool: string, args: readonly string[]): CommandEffect {
  const r = readArgv(args, TF_SPEC);
  const [verb = '', sub = '', ...rest] = r.positionals;
  let cls: EffectClass = TERRAFORM[verb] ?? 'modify';
  let action = verb;
  if (verb === 'apply' && hasOpt(r, 'destroy')) cls = 'destroy-data';
  if (verb === 'plan' && hasOpt(r, 'destroy')) cls = 'read-only';
  if (verb === 'fmt' && hasOpt(r, 'check')) cls = 'read-only';
  if (verb === 'state' || verb === 'workspace') {
    action = `${verb} ${sub}`;
    cls = /^(list|show|pull)$/.test(sub) ? 'read-only' : /^(rm|delete)$/.test(sub) ? 'delete' : 'modify';
  }
  const targets = [...(r.options.get('target') ?? []), ...(r.options.get('replace') ?? [])];
  const vars = r.options.get('var') ?? [];
  const env = vars.map((v) => /^(?:env|environment|stage)=(.+)$/i.exec(v)?.[1]).find((v) => v !== undefined);
  const mutating = cls !== 'read-only' && cls !== 'network-egress';
  return effect(
    tool,
    action,
    cls,
    {
      resources: [
        ...targets,
        ...(verb === 'state' || verb === 'workspace' ? [sub === '' ? '' : (rest[0] ?? '')].filter(Boolean) : []),
      ],
      context: verb === 'workspace' ? rest[0] : env,
      paths: r.options.get('var-file') ?? [],
    },
    mutating && targets.length === 0 && (verb === 'apply' || verb === 'destroy') ? 'whole' : 'one',
  );
}

const ANSIBLE: ArgvSpec = {
  values: [
    '-i',
    '--inventory',
    '-m',
    '--module-name',
    '-a',
    '--args',
    '-l',
    '--limit',
    '-u',
    '--user',
    '-e',
    '--extra-vars',
    '-t',
    '--tags',
    '-f',
    '--forks',
    '--become-user',
    '--skip-tags',
    '-c',
    '--connection',
  ],
  aliases: {
    '-i': 'inventory',
    '-m': 'module-name',
    '-a': 'args',
    '-l': 'limit',
    '-u': 'user',
    '-e': 'extra-vars',
    '-b': 'become',
    '-C': 'check',
    '-K': 'ask-become-pass',
    '-t': 'tags',
    '-f': 'forks',
  },
};
const READ_MODULES =
  /^(ping|setup|command|shell|raw|stat|debug|find|slurp|fetch|service_facts|package_facts|gather_facts|uri)$/;

function ansible(
  tool: string,
  args: readonly string[],
  inner: (argv: readonly string[]) => CommandEffect | undefined,
): CommandEffect {
  const r = readArgv(args, ANSIBLE);
  const inventory = opt(r, 'inventory');
  const limit = opt(r, 'limit');
  const become = hasOpt(r, 'become');
  if (tool === 'ansible-playbook') {
    const cls: EffectClass = hasOpt(r, 'check', 'syntax-check', 'list-hosts', 'list-tasks') ? 'read-only' : 'modify';
    return effect(
      tool,
      'playbook',
      become ? [cls, 'exec-remote', 'privilege'] : [cls, 'exec-remote'],
      { paths: r.positionals, context: inventory, hosts: limit ? limit.split(/[,:]/) : [] },
      limit ? 'one' : 'all',
    );
  }
  const pattern = r.positionals[0] ?? 'all';
  if (hasOpt(r, 'list-hosts'))
    return effect(tool, '--list-hosts', 'read-only', { context: inventory, resources: [pattern] });
  const module = opt(r, 'module-name') ?? 'command';
  const moduleArgs = opt(r, 'args') ?? '';
  let runs: CommandEffect | undefined;
  let cls: EffectClass;
  if (/^(command|shell|raw)$/.test(module)) {
    runs = moduleArgs ? inner(moduleArgs.split(/\s+/).filter(Boolean)) : undefined;
    cls = runs?.classes[0] === 'read-only' ? 'read-only' : (runs?.classes[0] ?? 'exec-remote');
  } else if (/^(service|systemd|systemd_service)$/.test(module))
    cls = /state=(stopped|restarted|reloaded|started)/.test(moduleArgs) ? 'restart' : 'modify';
  else if (/^(file)$/.test(module) && /state=absent/.test(moduleArgs)) cls = 'delete';
  else if (/^(apt|yum|dnf|package|pip)$/.test(module)) cls = /state=absent/.test(moduleArgs) ? 'delete' : 'create';
  else cls = READ_MODULES.test(module) ? 'read-only' : 'modify';
  const classes: EffectClass[] = [cls, 'exec-remote'];
  if (become) classes.push('privilege');
  const hosts = pattern.split(/[,:]/).filter((h) => h !== '' && h !== 'all');
  return effect(
    tool,
    module,
    classes,
    { hosts: limit ? limit.split(/[,:]/) : hosts, context: inventory, resources: [pattern] },
    /^(all|\*)$/.test(pattern) && !limit ? 'all' : 'one',
    runs,
  );
}

export const infraModel: ToolModel = {
  tools: ['terraform', 'tofu', 'terragrunt', 'ansible', 'ansible-playbook'],
  argvSpec: (utility) => (/^ansible/.test(utility) ? ANSIBLE : TF_SPEC),
  classify(utility, args, context) {
    if (utility === 'ansible' || utility === 'ansible-playbook') return ansible(utility, args, context.classifyInner);
    return terraform(utility, args);
  },
};
