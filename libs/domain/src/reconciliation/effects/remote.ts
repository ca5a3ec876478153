/** ssh/scp/rsync/sftp, curl/wget, nc. */
import { hasOpt, opt, readArgv, type ArgvSpec } from './argv.js';
import type { CommandEffect, EffectClass } from './effect.types.js';
import { effect, hostOf, type ClassifyContext, type ToolModel } from './tool-model.js';

const SSH: ArgvSpec = {
  values: [
    '-i',
    '-p',
    '-l',
    '-o',
    '-F',
    '-J',
    '-L',
    '-R',
    '-D',
    '-W',
    '-b',
    '-c',
    '-E',
    '-m',
    '-O',
    '-Q',
    '-S',
    '-w',
    '-e',
    '-P',
  ],
  aliases: {},
};
const RSYNC: ArgvSpec = {
  values: [
    '-e',
    '--rsh',
    '--exclude',
    '--include',
    '--filter',
    '-f',
    '--rsync-path',
    '--password-file',
    '--files-from',
    '--chmod',
    '--chown',
    '--bwlimit',
    '--port',
    '--backup-dir',
    '--suffix',
    '-T',
    '--temp-dir',
  ],
  aliases: { '-n': 'dry-run' },
};
const CURL: ArgvSpec = {
  values: [
    '-X',
    '--request',
    '-d',
    '--data',
    '--data-raw',
    '--data-binary',
    '--data-urlencode',
    '-F',
    '--form',
    '-H',
    '--header',
    '-o',
    '--output',
    '-u',
    '--user',
    '-T',
    '--upload-file',
    '-A',
    '--user-agent',
    '-e',
    '--referer',
    '-b',
    '--cookie',
    '-c',
    '--cookie-jar',
    '--connect-timeout',
    '-m',
    '--max-time',
    '-w',
    '--write-out',
    '-x',
    '--proxy',
    '--cacert',
    '--cert',
    '--key',
    '-r',
    '--range',
    '--retry',
    '--resolve',
    '-K',
    '--config',
    '-O',
    '--output-document',
    '--post-data',
    '--post-file',
    '--method',
    '--body-data',
    '--header',
    '-P',
    '--directory-prefix',
    '-t',
    '--tries',
    '-T',
    '--timeout',
  ],
  aliases: {
    '-X': 'request',
    '-d': 'data',
    '-F': 'form',
    '-H': 'header',
    '-u': 'user',
    '-T': 'upload-file',
    '-s': 'silent',
    '-S': 'show-error',
    '-L': 'location',
    '-k': 'insecure',
    '-f': 'fail',
    '-I': 'head',
    '-i': 'include',
    '-v': 'verbose',
    '-q': 'quiet',
  },
};

function ssh(args: readonly string[], context: ClassifyContext): CommandEffect {
  const r = readArgv(args, SSH);
  const [target = '', ...command] = r.positionals;
  const host = target.includes('@') ? target.split('@').pop() : target;
  // the remote command is what follows the destination, as written (options after it belong to it)
  const at = args.indexOf(target);
  const remote = at >= 0 ? args.slice(at + 1) : command;
  const joined = remote.length === 1 && /\s/.test(remote[0] ?? '') ? (remote[0] ?? '').split(/\s+/) : remote;
  const inner = joined.length > 0 ? context.classifyInner(joined) : undefined;
  const classes: EffectClass[] = inner
    ? [...inner.classes.filter((c) => c !== 'read-only'), 'exec-remote']
    : ['exec-remote'];
  return effect(
    'ssh',
    joined.length > 0 ? 'run' : 'shell',
    inner && inner.classes[0] === 'read-only' ? ['read-only', 'exec-remote'] : classes,
    { hosts: host ? [host] : [], ...(inner ? { resources: inner.targets.resources, paths: inner.targets.paths } : {}) },
    inner?.blast ?? 'one',
    inner,
  );
}

function copy(tool: string, args: readonly string[]): CommandEffect {
  const r = readArgv(args, tool === 'rsync' ? RSYNC : SSH);
  const ends = r.positionals;
  const dest = ends[ends.length - 1] ?? '';
  const sources = ends.slice(0, -1);
  const hosts = ends.map(hostOf).filter((h): h is string => h !== undefined);
  const upload = hostOf(dest) !== undefined;
  let cls: EffectClass = upload ? 'network-egress' : 'create';
  if (
    tool === 'rsync' &&
    hasOpt(r, 'delete', 'delete-before', 'delete-after', 'delete-during', 'delete-excluded', 'remove-source-files')
  )
    cls = 'delete';
  if (tool === 'rsync' && hasOpt(r, 'dry-run')) cls = 'read-only';
  const classes: EffectClass[] = [cls];
  if (upload && cls !== 'network-egress') classes.push('network-egress');
  if (upload) classes.push('modify');
  return effect(
    tool,
    upload ? 'upload' : 'download',
    classes,
    { hosts, paths: [...sources, dest] },
    cls === 'delete' ? 'all' : 'one',
  );
}

function http(tool: string, args: readonly string[]): CommandEffect {
  const r = readArgv(args, CURL);
  const urls = r.positionals.filter((p) => /^[a-z]+:\/\/|^[\w.-]+\.[a-z]{2,}(\/|$)|^localhost/i.test(p));
  const hosts = urls
    .map((u) => hostOf(u.includes('://') ? u : `http://${u}`))
    .filter((h): h is string => h !== undefined);
  const method = (opt(r, 'request') ?? opt(r, 'method') ?? '').toUpperCase();
  const sends = hasOpt(
    r,
    'data',
    'data-raw',
    'data-binary',
    'data-urlencode',
    'form',
    'upload-file',
    'post-data',
    'post-file',
    'body-data',
    'json',
  );
  const cls: EffectClass =
    method === 'DELETE' ? 'delete' : /^(POST|PUT|PATCH)$/.test(method) || sends ? 'modify' : 'read-only';
  const writes =
    hasOpt(r, 'output', 'O', 'remote-name', 'output-document') || (tool === 'wget' && !hasOpt(r, 'spider'));
  const classes: EffectClass[] = [cls, 'network-egress'];
  if (writes && cls === 'read-only') classes.splice(0, 1, 'create');
  return effect(tool, method || (sends ? 'POST' : 'GET'), classes, {
    hosts,
    resources: urls,
    paths: r.options.get('output') ?? [],
  });
}

export const remoteModel: ToolModel = {
  tools: ['ssh', 'scp', 'rsync', 'sftp', 'curl', 'wget', 'http', 'nc', 'ncat', 'netcat', 'socat', 'telnet'],
  argvSpec: (utility) =>
    utility === 'curl' || utility === 'wget' ? CURL : utility === 'rsync' ? RSYNC : utility === 'scp' ? SSH : undefined,
  classify(utility, args, context) {
    if (utility === 'ssh') return ssh(args, context);
    if (utility === 'scp' || utility === 'rsync' || utility === 'sftp') return copy(utility, args);
    if (utility === 'curl' || utility === 'wget' || utility === 'http') return http(utility, args);
    const words = args.filter((a) => !a.startsWith('-'));
    return effect(utility, 'connect', ['network-egress', 'exec-remote'], { hosts: words.slice(0, 1) });
  },
};
