/** apt/apt-get/yum/dnf/apk/brew, pip/pip3/pipx/uv, npm/yarn/pnpm, gem, cargo, go. */
import { hasOpt, readArgv, type ArgvSpec } from './argv.js';
import type { CommandEffect, EffectClass } from './effect.types.js';
import { effect, type ToolModel, type VerbTable } from './tool-model.js';

const SYSTEM_VERBS: VerbTable = {
  list: 'read-only',
  search: 'read-only',
  show: 'read-only',
  info: 'read-only',
  policy: 'read-only',
  'check-update': 'read-only',
  'list-installed': 'read-only',
  depends: 'read-only',
  rdepends: 'read-only',
  provides: 'read-only',
  whatprovides: 'read-only',
  history: 'read-only',
  repolist: 'read-only',
  madison: 'read-only',
  showpkg: 'read-only',
  changelog: 'read-only',
  download: 'network-egress',
  source: 'network-egress',
  update: 'network-egress',
  makecache: 'network-egress',
  install: 'create',
  reinstall: 'modify',
  localinstall: 'create',
  upgrade: 'modify',
  'dist-upgrade': 'modify',
  'full-upgrade': 'modify',
  downgrade: 'modify',
  mark: 'modify',
  remove: 'delete',
  erase: 'delete',
  purge: 'delete',
  autoremove: 'delete',
  clean: 'delete',
  autoclean: 'delete',
  del: 'delete',
  add: 'create',
  uninstall: 'delete',
  fix: 'modify',
  'build-dep': 'create',
};
const PIP_VERBS: VerbTable = {
  list: 'read-only',
  show: 'read-only',
  freeze: 'read-only',
  check: 'read-only',
  search: 'read-only',
  help: 'read-only',
  index: 'read-only',
  inspect: 'read-only',
  debug: 'read-only',
  config: 'read-only',
  hash: 'read-only',
  download: 'network-egress',
  install: 'create',
  uninstall: 'delete',
  remove: 'delete',
  wheel: 'create',
  cache: 'delete',
};
const NODE_VERBS: VerbTable = {
  ls: 'read-only',
  list: 'read-only',
  ll: 'read-only',
  la: 'read-only',
  view: 'read-only',
  info: 'read-only',
  show: 'read-only',
  outdated: 'read-only',
  audit: 'read-only',
  search: 'read-only',
  why: 'read-only',
  explain: 'read-only',
  doctor: 'read-only',
  help: 'read-only',
  config: 'read-only',
  version: 'read-only',
  whoami: 'read-only',
  bin: 'read-only',
  prefix: 'read-only',
  root: 'read-only',
  pack: 'create',
  install: 'create',
  i: 'create',
  in: 'create',
  add: 'create',
  ci: 'create',
  isntall: 'create',
  update: 'modify',
  up: 'modify',
  upgrade: 'modify',
  uninstall: 'delete',
  remove: 'delete',
  rm: 'delete',
  r: 'delete',
  un: 'delete',
  unlink: 'delete',
  prune: 'delete',
  dedupe: 'modify',
  publish: 'network-egress',
  unpublish: 'delete',
  deprecate: 'modify',
  run: 'modify',
  'run-script': 'modify',
  test: 'read-only',
  start: 'restart',
  stop: 'restart',
  restart: 'restart',
  exec: 'modify',
  link: 'modify',
  init: 'create',
  cache: 'delete',
  build: 'create',
};
const PKG_SPEC: ArgvSpec = {
  values: [
    '-r',
    '--requirement',
    '-c',
    '--constraint',
    '-i',
    '--index-url',
    '--extra-index-url',
    '-t',
    '--target',
    '--prefix',
    '--registry',
    '-C',
    '--cwd',
    '--root',
    '-e',
    '--editable',
    '-f',
    '--find-links',
    '--python',
    '-p',
    '--tag',
    '-o',
    '--option',
    '--enablerepo',
    '--disablerepo',
    '--repo',
    '--setopt',
    '--workspace',
    '-w',
  ],
  aliases: {
    '-U': 'upgrade',
    '-y': 'yes',
    '-g': 'global',
    '-D': 'save-dev',
    '-r': 'requirement',
    '-e': 'editable',
    '-q': 'quiet',
  },
};

/** `numpy==1.26.4` → numpy, 1.26.4; `lodash@4.17.21` → lodash, 4.17.21; `@scope/pkg@1` → @scope/pkg, 1. */
function packageSpec(word: string): { name: string; version?: string } {
  const m = /^(@?[^@=<>!~ ]+?)(?:\[[^\]]*\])?(?:(?:==|>=|<=|~=|!=|===|@|=)([^,;]+))?$/.exec(word);
  if (!m) return { name: word };
  return m[2] ? { name: m[1] ?? word, version: m[2] } : { name: m[1] ?? word };
}

function packageEffect(
  tool: string,
  table: VerbTable,
  args: readonly string[],
  upgradeIsModify = false,
): CommandEffect {
  const r = readArgv(args, PKG_SPEC);
  let [verb = '', ...names] = r.positionals;
  if (tool.startsWith('yarn') && verb === '') verb = 'install';
  if (verb === 'global' && tool.startsWith('yarn')) [verb = '', ...names] = names;
  let cls: EffectClass = table[verb] ?? 'modify';
  if (upgradeIsModify && cls === 'create' && hasOpt(r, 'upgrade')) cls = 'modify';
  if (verb === 'run' || verb === 'exec' || verb === 'x' || verb === 'dlx') cls = 'modify';
  if ((tool === 'npm' || tool === 'pnpm') && verb === 'audit' && names[0] === 'fix') cls = 'modify';
  const specs =
    cls === 'read-only' || verb === 'run'
      ? []
      : names.filter((n) => n.startsWith('@') || (!/^[./~]/.test(n) && !n.includes('/'))).map(packageSpec);
  const versions = specs.map((s) => s.version).filter((v): v is string => v !== undefined);
  const requirements = r.options.get('requirement') ?? [];
  const blast =
    (cls === 'modify' && names.length === 0 && verb !== 'run') ||
    (cls === 'delete' && /^(autoremove|clean|autoclean|prune)$/.test(verb))
      ? 'all'
      : 'one';
  const classes: EffectClass[] = [cls];
  if (cls === 'create' || cls === 'modify') classes.push('network-egress');
  if (hasOpt(r, 'global')) classes.push('privilege');
  return effect(
    tool,
    verb,
    classes,
    {
      packages: specs.map((s) => s.name),
      version: versions[0],
      paths: requirements,
      resources: verb === 'run' ? names.slice(0, 1) : [],
    },
    blast,
  );
}

export const packagesModel: ToolModel = {
  tools: [
    'apt',
    'apt-get',
    'apt-cache',
    'yum',
    'dnf',
    'apk',
    'zypper',
    'brew',
    'pip',
    'pip3',
    'pipx',
    'npm',
    'yarn',
    'pnpm',
    'gem',
    'cargo',
    'uv',
    'python',
    'python3',
    'npx',
  ],
  argvSpec: () => PKG_SPEC,
  classify(utility, args) {
    if (utility === 'python' || utility === 'python3') {
      const m = args.indexOf('-m');
      if (m < 0 || !/^pip3?$/.test(args[m + 1] ?? '')) return undefined;
      return packageEffect('pip', PIP_VERBS, args.slice(m + 2), true);
    }
    if (utility === 'npx')
      return effect('npx', 'exec', ['modify', 'network-egress'], {
        packages: args
          .filter((a) => !a.startsWith('-'))
          .slice(0, 1)
          .map((a) => packageSpec(a).name),
      });
    if (utility === 'uv' && args[0] === 'pip') return packageEffect('pip', PIP_VERBS, args.slice(1), true);
    if (/^pip/.test(utility)) return packageEffect('pip', PIP_VERBS, args, true);
    if (/^(npm|yarn|pnpm)$/.test(utility)) return packageEffect(utility, NODE_VERBS, args);
    if (utility === 'apt-cache') return effect('apt-cache', args[0] ?? '', 'read-only');
    if (utility === 'gem' || utility === 'cargo' || utility === 'brew')
      return packageEffect(utility, SYSTEM_VERBS, args);
    return packageEffect(utility, SYSTEM_VERBS, args);
  },
};
