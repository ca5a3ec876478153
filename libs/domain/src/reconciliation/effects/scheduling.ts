/** crontab, at. */
import { hasOpt, opt, readArgv, type ArgvSpec } from './argv.js';
import { effect, type ToolModel } from './tool-model.js';

const CRONTAB: ArgvSpec = {
  values: ['-u'],
  aliases: { '-l': 'list', '-r': 'remove', '-e': 'edit', '-i': 'interactive' },
};

export const schedulingModel: ToolModel = {
  tools: ['crontab', 'at', 'atrm'],
  argvSpec: (utility) => (utility === 'crontab' ? CRONTAB : undefined),
  classify(utility, args) {
    if (utility === 'atrm') return effect('atrm', 'remove', 'delete', { resources: args });
    if (utility === 'at')
      return args.some((a) => /^-[lq]$/.test(a))
        ? effect('at', 'list', 'read-only')
        : effect('at', 'schedule', 'create');
    const r = readArgv(args, {
      values: ['-u'],
      aliases: { '-l': 'list', '-r': 'remove', '-e': 'edit', '-i': 'interactive' },
    });
    const user = opt(r, 'u');
    const targets = { resources: user ? [user] : [], paths: r.positionals };
    if (hasOpt(r, 'remove')) return effect('crontab', '-r', 'destroy-data', targets, 'whole');
    if (hasOpt(r, 'list')) return effect('crontab', '-l', 'read-only', targets);
    if (hasOpt(r, 'edit')) return effect('crontab', '-e', 'modify', targets, 'whole');
    // `crontab FILE` (or stdin) replaces the whole table
    return effect('crontab', 'install', 'modify', targets, 'whole');
  },
};
