/** docker, podman, and docker compose / docker-compose / podman-compose. */
import { hasOpt, opt, readArgv, type ArgvSpec } from './argv.js';
import type { CommandEffect, EffectClass } from './effect.types.js';
import { effect, int, type ToolModel, type VerbTable } from './tool-model.js';

const GLOBAL = ['-H', '--host', '--context', '-c', '--config', '-l', '--log-level'];
/** `run`, `create`, `exec`: `-v` and `-e` take values, `-t` is a tty. */
const DOCKER_RUN: ArgvSpec = {
  values: [
    ...GLOBAL,
    '--name',
    '-e',
    '--env',
    '-v',
    '--volume',
    '-p',
    '--publish',
    '--network',
    '-u',
    '--user',
    '-w',
    '--workdir',
    '--entrypoint',
    '--restart',
    '--label',
    '--platform',
    '-m',
    '--memory',
    '--cpus',
    '--mount',
    '--env-file',
    '--log-driver',
    '--hostname',
    '-h',
  ],
  aliases: {
    '-H': 'host',
    '-v': 'volume',
    '-e': 'env',
    '-p': 'publish',
    '-u': 'user',
    '-w': 'workdir',
    '-d': 'detach',
    '-i': 'interactive',
    '-t': 'tty',
  },
};
/** `build`: `-t` tag and `-f` Dockerfile take values. */
const DOCKER_BUILD: ArgvSpec = {
  values: [...GLOBAL, '-t', '--tag', '-f', '--file', '--build-arg', '--target', '--platform'],
  aliases: { '-H': 'host', '-t': 'tag', '-f': 'file' },
};
/** `logs`: `-f` follows, `-n` is the tail. */
const DOCKER_LOGS: ArgvSpec = {
  values: [...GLOBAL, '--since', '--until', '-n', '--tail'],
  aliases: { '-H': 'host', '-f': 'follow', '-t': 'timestamps', '-n': 'tail' },
};
const COMPOSE_LOGS: ArgvSpec = {
  values: ['--file', '-p', '--project-name', '--profile', '--env-file', '--since', '--until', '-n', '--tail'],
  aliases: { '-f': 'follow', '-t': 'timestamps', '-n': 'tail', '-p': 'project-name' },
};

/** `docker container rm` is `docker rm`, `docker image ls` is `docker images` … */
const MANAGEMENT_ALIASES: Readonly<Record<string, string>> = {
  'container rm': 'rm',
  'container ls': 'ps',
  'container list': 'ps',
  'container ps': 'ps',
  'container start': 'start',
  'container stop': 'stop',
  'container restart': 'restart',
  'container kill': 'kill',
  'container logs': 'logs',
  'container exec': 'exec',
  'container run': 'run',
  'container inspect': 'inspect',
  'container create': 'create',
  'container top': 'top',
  'container stats': 'stats',
  'container cp': 'cp',
  'container pause': 'pause',
  'container unpause': 'unpause',
  'container rename': 'rename',
  'container attach': 'attach',
  'image rm': 'rmi',
  'image ls': 'images',
  'image list': 'images',
  'image pull': 'pull',
  'image push': 'push',
  'image tag': 'tag',
  'image build': 'build',
  'image inspect': 'inspect',
  'image history': 'history',
  'image save': 'save',
  'image load': 'load',
  'image import': 'import',
};

/** Everything else: `-f` force, `-v` volumes, `-a` all, `-t` time. */
const DOCKER: ArgvSpec = {
  values: [
    ...GLOBAL,
    '--format',
    '--filter',
    '--since',
    '--until',
    '--tail',
    '-t',
    '--time',
    '-s',
    '--signal',
    '-n',
    '--last',
  ],
  aliases: { '-H': 'host', '-a': 'all', '-q': 'quiet', '-f': 'force', '-v': 'volumes', '-t': 'time', '-s': 'signal' },
};

const DOCKER_VERBS: VerbTable = {
  ps: 'read-only',
  images: 'read-only',
  logs: 'read-only',
  inspect: 'read-only',
  stats: 'read-only',
  top: 'read-only',
  version: 'read-only',
  info: 'read-only',
  history: 'read-only',
  events: 'read-only',
  port: 'read-only',
  diff: 'read-only',
  search: 'read-only',
  ls: 'read-only',
  list: 'read-only',
  df: 'read-only',
  login: 'read-only',
  run: 'create',
  create: 'create',
  build: 'create',
  pull: 'network-egress',
  tag: 'create',
  commit: 'create',
  start: 'restart',
  stop: 'restart',
  restart: 'restart',
  kill: 'restart',
  pause: 'restart',
  unpause: 'restart',
  rm: 'delete',
  rmi: 'delete',
  remove: 'delete',
  prune: 'delete',
  exec: 'exec-remote',
  attach: 'exec-remote',
  push: 'network-egress',
  cp: 'modify',
  update: 'modify',
  rename: 'modify',
  save: 'create',
  load: 'create',
  export: 'create',
  import: 'create',
  connect: 'modify',
  disconnect: 'modify',
  scale: 'scale',
  up: 'create',
  down: 'delete',
  config: 'read-only',
  deploy: 'modify',
};
/** `docker <object> <verb>` management commands. */
const OBJECTS = new Set([
  'container',
  'image',
  'volume',
  'network',
  'system',
  'builder',
  'buildx',
  'node',
  'service',
  'stack',
  'context',
  'plugin',
  'secret',
  'config',
]);

const COMPOSE: ArgvSpec = {
  values: [
    '-f',
    '--file',
    '-p',
    '--project-name',
    '--profile',
    '--env-file',
    '--project-directory',
    '-t',
    '--timeout',
    '--scale',
    '-e',
    '--env',
    '-u',
    '--user',
    '-w',
    '--workdir',
    '--rmi',
    '--context',
    '-H',
    '--host',
  ],
  aliases: { '-v': 'volumes', '-d': 'detach', '-f': 'file', '-p': 'project-name', '-t': 'timeout', '-s': 'stop' },
};
const COMPOSE_VERBS: VerbTable = {
  ps: 'read-only',
  logs: 'read-only',
  config: 'read-only',
  top: 'read-only',
  images: 'read-only',
  ls: 'read-only',
  version: 'read-only',
  port: 'read-only',
  events: 'read-only',
  up: 'create',
  create: 'create',
  build: 'create',
  pull: 'network-egress',
  push: 'network-egress',
  restart: 'restart',
  stop: 'restart',
  start: 'restart',
  pause: 'restart',
  unpause: 'restart',
  kill: 'restart',
  down: 'delete',
  rm: 'delete',
  exec: 'exec-remote',
  run: 'exec-remote',
  scale: 'scale',
  cp: 'modify',
};

function compose(
  tool: string,
  args: readonly string[],
  inner: (argv: readonly string[]) => CommandEffect | undefined,
): CommandEffect {
  const r = readArgv(args, COMPOSE);
  const [verb = '', ...rest] = r.positionals;
  let cls: EffectClass = COMPOSE_VERBS[verb] ?? 'modify';
  if ((verb === 'down' || verb === 'rm') && hasOpt(r, 'volumes')) cls = 'destroy-data';
  const scale = [...(r.options.get('scale') ?? []), ...(verb === 'scale' ? rest : [])];
  const replicas = int(scale.map((s) => s.split('=')[1]).find((n) => n !== undefined));
  if (scale.length > 0 && cls !== 'delete' && cls !== 'destroy-data') cls = 'scale';
  const services =
    verb === 'scale'
      ? rest.map((s) => s.split('=')[0] ?? s)
      : verb === 'exec' || verb === 'run'
        ? rest.slice(0, 1)
        : rest;
  const mutating = cls !== 'read-only' && cls !== 'network-egress';
  const runs = (verb === 'exec' || verb === 'run') && rest.length > 1 ? inner(rest.slice(1)) : undefined;
  return effect(
    tool,
    verb,
    cls,
    {
      resources: services,
      context: opt(r, 'project-name') ?? opt(r, 'context'),
      hosts: r.options.get('host') ?? [],
      replicas,
      paths: r.options.get('file') ?? [],
    },
    // down always takes the whole project; a restart, stop or removal without services acts on every service
    verb === 'down' || (/^(restart|stop|kill|rm|pause|scale)$/.test(verb) && mutating && services.length === 0)
      ? 'all'
      : 'one',
    runs,
  );
}

function docker(
  tool: string,
  args: readonly string[],
  fedByPipe: boolean,
  inner: (argv: readonly string[]) => CommandEffect | undefined,
): CommandEffect {
  const first = readArgv(args, DOCKER).positionals;
  const verbWord = OBJECTS.has(first[0] ?? '') ? (first[1] ?? '') : (first[0] ?? '');
  const spec = /^(run|create|exec)$/.test(verbWord) ? DOCKER_RUN : verbWord === 'build' ? DOCKER_BUILD : DOCKER;
  const r = readArgv(args, spec);
  let [verb = '', ...rest] = r.positionals;
  let object = '';
  if (OBJECTS.has(verb) && rest.length > 0) {
    object = verb;
    verb = rest[0] ?? '';
    rest = rest.slice(1);
  }
  let cls: EffectClass = DOCKER_VERBS[verb] ?? 'modify';
  if (verb === 'run' && rest.length > 1) cls = 'create';
  if (object === 'volume' && (verb === 'rm' || verb === 'prune' || verb === 'remove')) cls = 'destroy-data';
  if (object === 'system' && verb === 'prune' && hasOpt(r, 'volumes')) cls = 'destroy-data';
  if (object === 'context' && verb === 'use') cls = 'modify';
  if (verb === 'rm' && hasOpt(r, 'volumes') && object !== 'volume') cls = 'destroy-data';
  const mutating = cls !== 'read-only' && cls !== 'network-egress';
  const all = verb === 'prune' || (mutating && (hasOpt(r, 'all') || fedByPipe || rest.some((a) => a.includes('$('))));
  const targets = verb === 'run' || verb === 'exec' ? rest.slice(0, 1) : rest;
  const image = verb === 'run' || verb === 'pull' || verb === 'push' ? rest[0] : undefined;
  const version = image && /:[\w.-]+$/.test(image) ? image.split(':').pop() : undefined;
  const runs = (verb === 'exec' || verb === 'run') && rest.length > 1 ? inner(rest.slice(1)) : undefined;
  return effect(
    tool,
    object ? `${object} ${verb}` : verb,
    cls,
    {
      resources: targets,
      context: opt(r, 'context'),
      hosts: r.options.get('host') ?? [],
      version,
      paths: r.options.get('volume') ?? [],
    },
    object === 'system' && verb === 'prune' ? 'whole' : all ? 'all' : 'one',
    runs,
  );
}

export const containersModel: ToolModel = {
  tools: ['docker', 'podman', 'docker-compose', 'podman-compose', 'nerdctl'],
  argvSpec: (utility, args) => {
    if (utility.endsWith('compose') || args.includes('compose')) return args.includes('logs') ? COMPOSE_LOGS : COMPOSE;
    const verb = readArgv(args, DOCKER).positionals.find((w) => !OBJECTS.has(w)) ?? '';
    if (verb === 'logs') return DOCKER_LOGS;
    return /^(run|create|exec)$/.test(verb) ? DOCKER_RUN : verb === 'build' ? DOCKER_BUILD : DOCKER;
  },
  canonicalPositionals: (_utility, positionals) => {
    const alias = MANAGEMENT_ALIASES[`${positionals[0] ?? ''} ${positionals[1] ?? ''}`];
    return alias ? [alias, ...positionals.slice(2)] : positionals;
  },
  classify(utility, args, context) {
    if (utility === 'docker-compose' || utility === 'podman-compose')
      return compose(utility, args, context.classifyInner);
    const first = args.findIndex((a) => !a.startsWith('-'));
    if (args[first] === 'compose')
      return compose(`${utility} compose`, [...args.slice(0, first), ...args.slice(first + 1)], context.classifyInner);
    return docker(utility, args, context.fedByPipe, context.classifyInner);
  },
};
