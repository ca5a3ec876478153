/** git. */
import { hasOpt, readArgv, type ArgvSpec } from './argv.js';
import type { EffectClass } from './effect.types.js';
import { effect, type ToolModel, type VerbTable } from './tool-model.js';

const GIT: ArgvSpec = {
  values: [
    '-C',
    '-c',
    '--git-dir',
    '--work-tree',
    '-m',
    '--message',
    '-b',
    '-B',
    '-n',
    '--max-count',
    '--format',
    '--pretty',
    '--author',
    '--since',
    '--until',
    '-u',
    '--set-upstream-to',
    '--depth',
    '--branch',
    '-o',
  ],
  aliases: {
    '-f': 'force',
    '-d': 'delete',
    '-D': 'force-delete',
    '-x': 'ignored',
    '-a': 'all',
    '-n': 'max-count',
    '-m': 'message',
    '-q': 'quiet',
    '-v': 'verbose',
  },
};
const VERBS: VerbTable = {
  log: 'read-only',
  status: 'read-only',
  diff: 'read-only',
  show: 'read-only',
  blame: 'read-only',
  'ls-files': 'read-only',
  'rev-parse': 'read-only',
  describe: 'read-only',
  shortlog: 'read-only',
  reflog: 'read-only',
  grep: 'read-only',
  'ls-remote': 'read-only',
  'cat-file': 'read-only',
  version: 'read-only',
  help: 'read-only',
  whatchanged: 'read-only',
  fetch: 'network-egress',
  clone: 'create',
  init: 'create',
  pull: 'modify',
  add: 'modify',
  commit: 'modify',
  checkout: 'modify',
  switch: 'modify',
  merge: 'modify',
  rebase: 'modify',
  'cherry-pick': 'modify',
  revert: 'modify',
  stash: 'modify',
  tag: 'modify',
  branch: 'read-only',
  remote: 'read-only',
  config: 'read-only',
  mv: 'modify',
  rm: 'delete',
  restore: 'modify',
  apply: 'modify',
  am: 'modify',
  push: 'network-egress',
  reset: 'modify',
  clean: 'delete',
  gc: 'modify',
  submodule: 'modify',
  worktree: 'modify',
  bisect: 'read-only',
};

export const gitModel: ToolModel = {
  tools: ['git'],
  argvSpec: () => GIT,
  classify(_utility, args) {
    const r = readArgv(args, GIT);
    const [verb = '', ...rest] = r.positionals;
    let cls: EffectClass = VERBS[verb] ?? 'modify';
    let blast: 'one' | 'all' | 'whole' = 'one';
    const force = hasOpt(r, 'force', 'force-with-lease', 'mirror') || rest.some((a) => a.startsWith('+'));
    if (verb === 'reset' && hasOpt(r, 'hard')) cls = 'destroy-data';
    if (verb === 'clean' && hasOpt(r, 'force')) {
      cls = 'destroy-data';
      blast = 'all';
    }
    if (
      (verb === 'checkout' || verb === 'restore') &&
      (r.rest.length > 0 || rest.includes('.')) &&
      !hasOpt(r, 'staged')
    )
      cls = 'destroy-data';
    if (verb === 'push' && force) cls = 'destroy-data';
    if (verb === 'push' && hasOpt(r, 'delete')) cls = 'delete';
    if (verb === 'push' && hasOpt(r, 'all', 'mirror', 'tags')) blast = 'all';
    if (verb === 'branch' && (hasOpt(r, 'delete', 'force-delete', 'move', 'M', 'force') || rest.length > 0))
      cls = hasOpt(r, 'force-delete') ? 'destroy-data' : hasOpt(r, 'delete') ? 'delete' : 'modify';
    if (verb === 'stash' && /^(clear|drop)$/.test(rest[0] ?? '')) cls = 'destroy-data';
    if (verb === 'stash' && /^(list|show)$/.test(rest[0] ?? '')) cls = 'read-only';
    if (verb === 'tag' && (rest.length === 0 || hasOpt(r, 'l', 'list'))) cls = 'read-only';
    if (verb === 'tag' && hasOpt(r, 'delete')) cls = 'delete';
    if (verb === 'remote' && /^(add|remove|rm|set-url|rename)$/.test(rest[0] ?? '')) cls = 'modify';
    if (verb === 'config' && rest.length >= 2 && !hasOpt(r, 'get', 'list', 'l')) cls = 'modify';
    const remote = verb === 'push' || verb === 'pull' || verb === 'fetch' || verb === 'clone' ? rest[0] : undefined;
    const classes: EffectClass[] = [cls];
    if (verb === 'push' || verb === 'pull' || verb === 'clone') classes.push('network-egress');
    return effect(
      'git',
      verb,
      classes,
      { resources: rest.slice(remote ? 1 : 0), hosts: remote && /[:@]/.test(remote) ? [remote] : [] },
      blast,
    );
  },
};
