/** rm/shred/unlink, mv, cp, chmod/chown, find, sed, dd, mkfs, tar, truncate, wipefs. */
import { hasOpt, opt, readArgv, type ArgvSpec } from './argv.js';
import type { BlastRadius, CommandEffect, EffectClass } from './effect.types.js';
import { effect, type ClassifyContext, type ToolModel } from './tool-model.js';

/** Targets that sweep everything: the root, a home, a bare glob, a disk. */
const SWEEPING =
  /^(\/|\/\*|~|~\/|~\/\*|\$HOME|\$HOME\/|\$HOME\/\*|\*|\.\/\*|\.\*|\/dev\/[sv]d[a-z]\d*|\/dev\/nvme\d+n\d+(p\d+)?)$/;
const DATA_DIR = /^\/(var\/lib|srv|data|home|opt|etc|var\/www|mnt|var\/backups?)(\/|$)/;

function blastOfPaths(paths: readonly string[], fedByPipe: boolean): BlastRadius {
  if (paths.some((p) => SWEEPING.test(p) && !/^\*$|^\.\/\*$|^\.\*$/.test(p))) return 'whole';
  if (fedByPipe || paths.some((p) => /(^|\/)\*$/.test(p))) return 'all';
  return 'one';
}

const RM: ArgvSpec = {
  aliases: { '-r': 'recursive', '-R': 'recursive', '-f': 'force', '-v': 'verbose', '-i': 'interactive', '-d': 'dir' },
};
const COPY: ArgvSpec = {
  values: ['-t', '--target-directory', '-S', '--suffix'],
  aliases: { '-r': 'recursive', '-R': 'recursive', '-f': 'force', '-a': 'archive', '-t': 'target-directory' },
};
const MODE: ArgvSpec = {
  values: ['--reference'],
  aliases: { '-R': 'recursive', '-v': 'verbose', '-c': 'changes', '-h': 'no-dereference' },
};
const SED: ArgvSpec = {
  values: ['-e', '--expression', '-f', '--file', '-l'],
  aliases: { '-i': 'in-place', '-n': 'quiet', '-E': 'regexp-extended', '-r': 'regexp-extended', '-e': 'expression' },
};
const TAR: ArgvSpec = {
  values: ['-f', '--file', '-C', '--directory', '--exclude', '-T', '--files-from', '-X', '--exclude-from'],
  aliases: {
    '-c': 'create',
    '-x': 'extract',
    '-t': 'list',
    '-r': 'append',
    '-u': 'update',
    '-f': 'file',
    '-C': 'directory',
    '-z': 'gzip',
    '-j': 'bzip2',
    '-J': 'xz',
    '-v': 'verbose',
    '--get': 'extract',
  },
};

function rm(tool: string, args: readonly string[], fedByPipe: boolean): CommandEffect {
  const r = readArgv(args, RM);
  const paths = r.positionals;
  const recursive = hasOpt(r, 'recursive');
  const blast = blastOfPaths(paths, fedByPipe);
  const cls: EffectClass =
    blast === 'whole' ||
    (recursive && paths.some((p) => DATA_DIR.test(p) && p.split('/').length <= 4)) ||
    tool === 'shred'
      ? 'destroy-data'
      : 'delete';
  return effect(tool, recursive ? `${tool} -r` : tool, cls, { paths }, blast);
}

function find(args: readonly string[]): CommandEffect {
  const start = args.findIndex((a) => /^[-(!]/.test(a));
  const roots = (start < 0 ? args : args.slice(0, start)).filter((a) => !/^-[HLP]$/.test(a));
  const exec = args.findIndex((a) => /^-(exec|execdir|ok|okdir)$/.test(a));
  const execTool = exec >= 0 ? ((args[exec + 1] ?? '').split('/').pop() ?? '') : '';
  let cls: EffectClass = 'read-only';
  if (args.includes('-delete') || /^(rm|shred|unlink|rmdir)$/.test(execTool)) cls = 'delete';
  else if (/^(mv|chmod|chown|sed|truncate|touch|cp|ln|chgrp)$/.test(execTool))
    cls =
      execTool === 'sed' && !args.slice(exec).some((a) => /^-[a-zA-Z]*i|^--in-place/.test(a)) ? 'read-only' : 'modify';
  const namePattern = args.findIndex((a) => /^-i?(name|path|regex)$/.test(a));
  const everything = namePattern >= 0 && /^\.?\*$/.test(args[namePattern + 1] ?? '');
  const paths = roots.length > 0 ? roots : ['.'];
  const blast: BlastRadius =
    cls === 'read-only' ? 'one' : paths.some((p) => p === '/' || p === '/*') ? 'whole' : everything ? 'all' : 'one';
  return effect(
    'find',
    cls === 'read-only' ? 'find' : args.includes('-delete') ? '-delete' : `-exec ${execTool}`,
    blast === 'whole' && cls === 'delete' ? 'destroy-data' : cls,
    { paths },
    blast,
  );
}

function dd(args: readonly string[]): CommandEffect {
  const of = args.find((a) => a.startsWith('of='))?.slice(3);
  const input = args.find((a) => a.startsWith('if='))?.slice(3);
  const device = of !== undefined && /^\/dev\/(sd|vd|xvd|nvme|hd|mmcblk|disk|mapper|md)/.test(of);
  return effect(
    'dd',
    'copy',
    of === undefined ? 'read-only' : device ? 'destroy-data' : 'create',
    { paths: [input, of].filter((p): p is string => p !== undefined) },
    device ? 'whole' : 'one',
  );
}

function tar(args: readonly string[]): CommandEffect {
  // old-style bundled first word: `tar czf out.tgz dir`
  const first = args[0] ?? '';
  const words = /^[a-zA-Z]+$/.test(first) && /[cxtru]/.test(first) ? [`-${first}`, ...args.slice(1)] : args;
  const r = readArgv(words, TAR);
  const file = opt(r, 'file');
  const directory = opt(r, 'directory');
  if (hasOpt(r, 'extract')) {
    const dest = directory ?? '.';
    return effect(
      'tar',
      'extract',
      'modify',
      { paths: [...(file ? [file] : []), dest] },
      dest === '/' ? 'whole' : 'one',
    );
  }
  if (hasOpt(r, 'list')) return effect('tar', 'list', 'read-only', { paths: file ? [file] : [] });
  const cls: EffectClass = hasOpt(r, 'create') ? 'create' : hasOpt(r, 'append', 'update') ? 'modify' : 'read-only';
  const removes = hasOpt(r, 'remove-files');
  return effect(
    'tar',
    removes ? 'create --remove-files' : cls === 'create' ? 'create' : 'update',
    removes ? ['delete', 'create'] : cls,
    { paths: [...(file ? [file] : []), ...r.positionals] },
    removes ? blastOfPaths(r.positionals, false) : 'one',
  );
}

export const filesModel: ToolModel = {
  tools: [
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
    'wipefs',
    'fdisk',
    'parted',
    'sgdisk',
    'mkfs',
    'mkswap',
  ],
  classify(utility, args, context: ClassifyContext) {
    if (/^(rm|shred|unlink|rmdir|srm|wipe)$/.test(utility)) return rm(utility, args, context.fedByPipe);
    if (utility === 'find') return find(args);
    if (utility === 'dd') return dd(args);
    if (utility === 'tar') return tar(args);
    if (utility === 'truncate')
      return effect('truncate', 'truncate', 'destroy-data', {
        paths: args.filter((a) => !a.startsWith('-') && !/^\+?\d+[KMG]?$/.test(a)),
      });
    if (utility === 'mkfs' || utility === 'mkswap')
      return effect('mkfs', 'format', 'destroy-data', { paths: args.filter((a) => a.startsWith('/dev/')) }, 'whole');
    if (/^(wipefs|fdisk|parted|sgdisk)$/.test(utility)) {
      const readOnly =
        args.some((a) => /^-(l|-list|p|-print)$/.test(a)) || (utility === 'parted' && args.includes('print'));
      return effect(
        utility,
        readOnly ? 'list' : 'write',
        readOnly ? 'read-only' : 'destroy-data',
        { paths: args.filter((a) => a.startsWith('/dev/')) },
        readOnly ? 'one' : 'whole',
      );
    }
    if (utility === 'sed') {
      const r = readArgv(args, SED);
      const inPlace = hasOpt(r, 'in-place') || args.some((a) => /^-[a-zA-Z]*i/.test(a) && !a.startsWith('--'));
      const files = r.options.has('expression') || r.options.has('file') ? r.positionals : r.positionals.slice(1);
      return effect(
        'sed',
        inPlace ? '-i' : 'print',
        inPlace ? 'modify' : 'read-only',
        { paths: files },
        inPlace ? blastOfPaths(files, context.fedByPipe) : 'one',
      );
    }
    if (utility === 'mv' || utility === 'cp' || utility === 'install') {
      const r = readArgv(args, COPY);
      const paths = r.positionals;
      const dest = opt(r, 'target-directory') ?? paths[paths.length - 1] ?? '';
      const overwrites = /^\/(etc|bin|sbin|usr|boot|lib)(\/|$)/.test(dest);
      return effect(
        utility,
        utility,
        utility === 'mv' || overwrites ? 'modify' : 'create',
        { paths: opt(r, 'target-directory') ? [...paths, dest] : paths },
        blastOfPaths(paths.slice(0, -1), context.fedByPipe),
      );
    }
    // chmod, chown, chgrp
    const r = readArgv(args, MODE);
    const [mode = '', ...paths] = r.positionals;
    const blast = blastOfPaths(paths, context.fedByPipe);
    return effect(
      utility,
      hasOpt(r, 'recursive') ? `${utility} -R` : utility,
      'modify',
      { paths, resources: [mode] },
      blast,
    );
  },
};
