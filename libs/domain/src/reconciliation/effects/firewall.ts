/** iptables/ip6tables, nft, ufw. */
import { opt, readArgv, type ArgvSpec } from './argv.js';
import type { EffectClass } from './effect.types.js';
import { effect, type ToolModel, type VerbTable } from './tool-model.js';

const IPTABLES: ArgvSpec = {
  values: [
    '-t',
    '--table',
    '-A',
    '--append',
    '-I',
    '--insert',
    '-D',
    '--delete',
    '-R',
    '--replace',
    '-N',
    '--new-chain',
    '-P',
    '--policy',
    '-E',
    '--rename-chain',
    '-C',
    '--check',
    '-p',
    '--protocol',
    '-s',
    '--source',
    '-d',
    '--destination',
    '-j',
    '--jump',
    '-i',
    '--in-interface',
    '-o',
    '--out-interface',
    '--dport',
    '--sport',
    '-m',
    '--match',
    '--to-destination',
    '--to-source',
    '--to-ports',
    '--state',
    '--ctstate',
    '-w',
    '--wait',
  ],
  aliases: {
    '-t': 'table',
    '-A': 'append',
    '-I': 'insert',
    '-D': 'delete',
    '-R': 'replace',
    '-N': 'new-chain',
    '-P': 'policy',
    '-F': 'flush',
    '-X': 'delete-chain',
    '-Z': 'zero',
    '-L': 'list',
    '-S': 'list-rules',
    '-C': 'check',
    '-E': 'rename-chain',
    '-n': 'numeric',
    '-v': 'verbose',
    '-j': 'jump',
    '-p': 'protocol',
    '-s': 'source',
    '-d': 'destination',
  },
};
/** The command option decides; the first one present wins. */
const IPTABLES_ACTIONS: readonly (readonly [string, EffectClass])[] = [
  ['flush', 'delete'],
  ['delete-chain', 'delete'],
  ['delete', 'delete'],
  ['policy', 'modify'],
  ['zero', 'modify'],
  ['replace', 'modify'],
  ['rename-chain', 'modify'],
  ['append', 'create'],
  ['insert', 'create'],
  ['new-chain', 'create'],
  ['check', 'read-only'],
  ['list', 'read-only'],
  ['list-rules', 'read-only'],
];

const NFT_VERBS: VerbTable = {
  list: 'read-only',
  describe: 'read-only',
  monitor: 'read-only',
  add: 'create',
  create: 'create',
  insert: 'create',
  replace: 'modify',
  rename: 'modify',
  reset: 'modify',
  delete: 'delete',
  destroy: 'delete',
  flush: 'delete',
};

const UFW_VERBS: VerbTable = {
  status: 'read-only',
  show: 'read-only',
  app: 'read-only',
  version: 'read-only',
  allow: 'modify',
  deny: 'modify',
  reject: 'modify',
  limit: 'modify',
  route: 'modify',
  insert: 'modify',
  prepend: 'modify',
  default: 'modify',
  logging: 'modify',
  delete: 'delete',
  enable: 'modify',
  disable: 'modify',
  reload: 'restart',
  reset: 'delete',
};

export const firewallModel: ToolModel = {
  tools: [
    'iptables',
    'ip6tables',
    'iptables-legacy',
    'iptables-nft',
    'nft',
    'ufw',
    'iptables-save',
    'iptables-restore',
    'firewall-cmd',
  ],
  argvSpec: (utility) => (/^ip6?tables/.test(utility) && !/save|restore/.test(utility) ? IPTABLES : undefined),
  classify(utility, args) {
    if (utility === 'iptables-save') return effect(utility, 'save', 'read-only', {}, 'whole');
    if (utility === 'iptables-restore') return effect(utility, 'restore', 'modify', {}, 'whole');
    if (utility === 'firewall-cmd') {
      const mutating = args.some((a) => /^--(add|remove|set|reload|complete-reload|new|delete|panic-on)/.test(a));
      const removes = args.some((a) => /^--(remove|delete)/.test(a));
      return effect(utility, mutating ? 'change' : 'query', removes ? 'delete' : mutating ? 'modify' : 'read-only');
    }
    if (utility === 'nft') {
      const words = args.filter((a) => !a.startsWith('-'));
      if (args.includes('-f')) return effect('nft', '-f', 'modify', { paths: words }, 'whole');
      const verb = words[0] ?? 'list';
      const cls = NFT_VERBS[verb] ?? 'modify';
      const ruleset = words[1] === 'ruleset';
      return effect(
        'nft',
        verb,
        cls,
        { resources: words.slice(1) },
        ruleset ? 'whole' : verb === 'flush' ? 'all' : 'one',
      );
    }
    if (utility === 'ufw') {
      const words = args.filter((a) => !a.startsWith('-'));
      const verb = words[0] ?? 'status';
      const cls = UFW_VERBS[verb] ?? 'modify';
      return effect(
        'ufw',
        verb,
        cls,
        { resources: cls === 'read-only' ? [] : words.slice(1) },
        /^(reset|disable|enable|default)$/.test(verb) ? 'whole' : 'one',
      );
    }
    const r = readArgv(args, IPTABLES);
    const found = IPTABLES_ACTIONS.find(([name]) => r.options.has(name));
    const [action, cls] = found ?? ['list', 'read-only'];
    const chain = opt(r, action) || r.positionals[0];
    // `-F`/`-X`/`-Z` without a chain act on every chain of the table
    const blast =
      (action === 'flush' || action === 'delete-chain' || action === 'zero' || action === 'policy') && !chain
        ? 'whole'
        : action === 'flush'
          ? 'all'
          : 'one';
    return effect(utility, action, cls, { resources: [opt(r, 'table') ?? 'filter', ...(chain ? [chain] : [])] }, blast);
  },
};
