/** kill/pkill/killall, shutdown/reboot/halt/poweroff/init. */
import type { CommandEffect } from './effect.types.js';
import { effect, type ClassifyContext, type ToolModel } from './tool-model.js';

function kill(utility: string, args: readonly string[], context: ClassifyContext): CommandEffect {
  const words = args.filter((a) => !a.startsWith('-'));
  const signal = args.find((a) => /^-(\d+|[A-Z]+|s|n)$/.test(a));
  const targets = utility === 'kill' ? args.filter((a) => /^-?\d+$|^%/.test(a) && a !== signal) : words;
  // `kill -9 -1` signals every process the user may; pkill/killall match every process by name or pattern
  const every =
    targets.includes('-1') || (utility === 'killall' && args.includes('-u') === false && targets.length === 0);
  const byPattern = utility !== 'kill' || context.fedByPipe;
  return effect(
    utility,
    signal ? `${utility} ${signal}` : utility,
    'restart',
    { resources: targets },
    every ? 'whole' : byPattern ? 'all' : 'one',
  );
}

export const processesModel: ToolModel = {
  tools: ['kill', 'pkill', 'killall', 'shutdown', 'reboot', 'halt', 'poweroff', 'init', 'telinit'],
  classify(utility, args, context) {
    if (/^(kill|pkill|killall)$/.test(utility)) {
      if (args.includes('-l') || args.includes('-L')) return effect(utility, '-l', 'read-only');
      return kill(utility, args, context);
    }
    if (utility === 'shutdown' && args.includes('-c')) return effect('shutdown', '-c', 'modify', {}, 'whole');
    if ((utility === 'init' || utility === 'telinit') && !/^[06]$/.test(args[0] ?? ''))
      return effect(utility, args[0] ?? '', 'modify', {}, 'whole');
    const when = args.find((a) => /^(now|\+\d+|\d{1,2}:\d{2})$/.test(a));
    const delayMinutes = when === 'now' ? 0 : when?.startsWith('+') ? Number(when.slice(1)) : undefined;
    return effect(utility, utility, 'restart', { delayMinutes }, 'whole');
  },
};
