/** systemctl, service, journalctl. */
import { hasOpt, opt, readArgv, type ArgvSpec } from './argv.js';
import type { EffectClass } from './effect.types.js';
import { effect, type ToolModel, type VerbTable } from './tool-model.js';

const SYSTEMCTL: ArgvSpec = {
  values: [
    '-H',
    '--host',
    '-M',
    '--machine',
    '-t',
    '--type',
    '--state',
    '-p',
    '--property',
    '-n',
    '--lines',
    '-o',
    '--output',
    '-s',
    '--signal',
  ],
  aliases: { '-H': 'host', '-t': 'type', '-p': 'property', '-n': 'lines', '-a': 'all', '-q': 'quiet', '-s': 'signal' },
};
const SYSTEMCTL_VERBS: VerbTable = {
  status: 'read-only',
  show: 'read-only',
  cat: 'read-only',
  'list-units': 'read-only',
  'list-unit-files': 'read-only',
  'list-timers': 'read-only',
  'list-sockets': 'read-only',
  'list-dependencies': 'read-only',
  'is-active': 'read-only',
  'is-enabled': 'read-only',
  'is-failed': 'read-only',
  'is-system-running': 'read-only',
  help: 'read-only',
  'list-jobs': 'read-only',
  'get-default': 'read-only',
  start: 'restart',
  stop: 'restart',
  restart: 'restart',
  reload: 'restart',
  'try-restart': 'restart',
  'reload-or-restart': 'restart',
  'try-reload-or-restart': 'restart',
  kill: 'restart',
  isolate: 'restart',
  enable: 'modify',
  disable: 'modify',
  mask: 'modify',
  unmask: 'modify',
  edit: 'modify',
  'set-property': 'modify',
  'daemon-reload': 'modify',
  'reset-failed': 'modify',
  'set-default': 'modify',
  revert: 'modify',
  reboot: 'restart',
  poweroff: 'restart',
  halt: 'restart',
  kexec: 'restart',
  suspend: 'restart',
  hibernate: 'restart',
  emergency: 'restart',
  rescue: 'restart',
};
const HOST_WIDE = /^(reboot|poweroff|halt|kexec|suspend|hibernate|isolate|emergency|rescue|daemon-reload)$/;

const JOURNALCTL: ArgvSpec = {
  values: [
    '-u',
    '--unit',
    '-n',
    '--lines',
    '-p',
    '--priority',
    '-S',
    '--since',
    '-U',
    '--until',
    '-o',
    '--output',
    '-b',
    '--boot',
    '-t',
    '--identifier',
    '-H',
    '--host',
    '-D',
    '--directory',
    '--vacuum-size',
    '--vacuum-time',
    '--vacuum-files',
    '-g',
    '--grep',
  ],
  aliases: { '-u': 'unit', '-n': 'lines', '-f': 'follow', '-H': 'host', '-S': 'since', '-U': 'until' },
};

export const servicesModel: ToolModel = {
  tools: ['systemctl', 'service', 'journalctl'],
  argvSpec: (utility) => (utility === 'journalctl' ? JOURNALCTL : utility === 'systemctl' ? SYSTEMCTL : undefined),
  classify(utility, args) {
    if (utility === 'journalctl') {
      const r = readArgv(args, JOURNALCTL);
      const vacuum = hasOpt(r, 'vacuum-size', 'vacuum-time', 'vacuum-files', 'rotate', 'flush');
      return effect(
        'journalctl',
        vacuum ? 'vacuum' : 'read',
        vacuum ? 'delete' : 'read-only',
        { resources: r.options.get('unit') ?? [], hosts: r.options.get('host') ?? [] },
        vacuum ? 'all' : 'one',
      );
    }
    if (utility === 'service') {
      const [name = '', verb = ''] = args.filter((a) => !a.startsWith('-'));
      const cls: EffectClass = SYSTEMCTL_VERBS[verb] ?? (verb === '' ? 'read-only' : 'restart');
      return effect('service', verb, cls, { resources: [name] }, args.includes('--status-all') ? 'all' : 'one');
    }
    const r = readArgv(args, SYSTEMCTL);
    const [verb = 'list-units', ...units] = r.positionals;
    const cls: EffectClass = SYSTEMCTL_VERBS[verb] ?? 'modify';
    const mutating = cls !== 'read-only';
    const glob = units.some((u) => /[*?[]/.test(u));
    const blast = HOST_WIDE.test(verb) ? 'whole' : mutating && (glob || units.length === 0) ? 'all' : 'one';
    return effect(
      'systemctl',
      verb,
      hasOpt(r, 'now') && cls === 'modify' ? ['restart', 'modify'] : cls,
      { resources: units, hosts: opt(r, 'host') ? [opt(r, 'host') ?? ''] : [] },
      blast,
    );
  },
};
