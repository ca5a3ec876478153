/**
 * Intent matching for natural-language-only approvals. Explainable: it reports which words of the instruction
 * licensed the command's utility and which of the command's content tokens (paths, names, patterns, numbers) the
 * instruction mentions. Below the confidence threshold the answer is UNCLEAR, never a guess.
 */
import type { RiskHit } from './risk-rules.js';
import type { SimpleCommand } from './reconciliation.types.js';

export interface IntentAssessment {
  readonly verdict: 'MATCH' | 'MISMATCH' | 'UNCLEAR';
  readonly reason: string;
  readonly confidence: number;
  readonly kind?: 'vague_instruction' | 'low_confidence' | 'dangerous_deviation' | 'command_not_approved';
}

/** Verbs that license a destructive risk rule when the instruction uses them. */
const LICENCE: Readonly<Record<string, RegExp>> = {
  recursive_force_delete: /\b(delet|remov|eras|purg|wip|clean|get rid|rm\b|force)/i,
  delete: /\b(delet|remov|eras|purg|wip|clean|get rid|unlink|rm\b|rmdir)/i,
  find_delete: /\b(delet|remov|eras|purg|wip|clean|get rid|unlink|rmdir)/i,
  xargs_delete: /\b(delet|remov|eras|purg|wip|clean|get rid|unlink|rmdir)/i,
  sed_in_place:
    /\b(replac|substitut|edit|chang|modif|in[- ]place|updat|insert|append|add|delet|remov|convert|renam|fix|strip|comment|prepend|set)/i,
  truncating_redirect:
    /\b(sav|writ|output|redirect|stor|creat|put|dump|overwrit|generat|into|to (a |the )?file|empty|clear|truncat|copy|concatenat|split|make|produc|record|log)/i,
  world_writable_chmod:
    /\b(777|666|everyone|all users|world|anyone|full permission|read,? write,? (and )?execute permission(s)? (to|for) all|a\+w|o\+w)/i,
  kill_9: /\b(kill|terminat|stop|end)/i,
  rsync_delete: /\b(delet|remov|mirror|exact cop|sync)/i,
  mount_rw: /\b(rw\b|read[- ]?write|writ)/i,
  copy_into_etc: /\/(etc|bin|sbin|usr\/bin|boot)\b/i,
  force_push: /\bforce/i,
  persistence: /\b(authorized_keys|cron|schedul|bashrc|profile|startup|boot)/i,
  sql_destructive: /\b(drop|truncat|delet|remov)/i,
  scale_to_zero: /\b(scale|zero|stop|shut)/i,
  terraform_auto_approve: /\b(auto[- ]?approv|without (asking|confirm|prompt))/i,
  sudo: /\b(sudo|root|superuser|admin|privileg)/i,
  pipe_to_shell: /\b(install|run the script|execute the (script|output)|pipe.*(sh|bash)\b)/i,
  exfiltration: /\b(upload|send|post|transfer|copy .*(remote|server|host)|scp|netcat|\bnc\b|listen|port|connect)/i,
  secrets_file: /\b(ssh|key|credential|password|shadow|secret|token|\.env|pem|sudoers)/i,
  ssh_no_host_key_check: /\b(host ?key|strict|known.?hosts|without (checking|verif))/i,
  tls_insecure: /\b(insecure|certificate|ssl|tls|without (checking|verif))/i,
  write_outside_scope: /$^/,
};

/** Words of the instruction, lower case, quotes stripped. */
function instructionWords(instruction: string): string[] {
  return instruction
    .toLowerCase()
    .split(/[\s,;:()]+/)
    .map((w) => w.replace(/^["'`]+|["'`.?!]+$/g, ''))
    .filter((w) => w.length > 0);
}

/** Tokens of an instruction that name something specific: quoted strings, paths, numbers, dotted names, user@host. */
function specificTokens(instruction: string): string[] {
  const out: string[] = [];
  for (const m of instruction.matchAll(/"([^"]+)"|'([^']+)'|`([^`]+)`/g))
    out.push((m[1] ?? m[2] ?? m[3] ?? '').toLowerCase());
  for (const w of instructionWords(instruction))
    if (/[/~.@\d*$_]/.test(w) && w.replace(/[^a-z0-9]/g, '').length > 0) out.push(w);
  return out;
}

/** Content tokens of a command: non-flag arguments with quotes removed, not the utility itself. */
function commandContentTokens(commands: readonly SimpleCommand[]): string[] {
  const out: string[] = [];
  for (const c of commands) {
    const argv = c.argv.slice(1);
    for (let i = 0; i < argv.length; i += 1) {
      const a = argv[i] ?? '';
      if (a.startsWith('-') || a.length === 0 || a.includes('$(') || a.includes('`')) continue;
      if (/^[{};+.|/*]$|^\{\}$|^\\?;$/.test(a)) continue;
      if (c.utility === 'awk' || c.utility === 'gawk' || c.utility === 'sed' || c.utility === 'perl') {
        if (i === 0 || /[{}()\\^$[\]]/.test(a)) continue; // program text, not a target
      }
      out.push(a);
    }
    for (const r of c.redirects)
      if (r.op !== '<<' && r.target !== '/dev/null' && !/^&?\d$/.test(r.target)) out.push(r.target);
  }
  return out;
}

/** Pieces of a token worth looking for in prose: `/var/www/*.php` → var, www, php. */
function pieces(token: string): string[] {
  return token
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((p) => p.length >= 2 && !['home', 'usr', 'tmp', 'print', 'name', 'type'].includes(p));
}

function covered(token: string, text: string): boolean {
  const t = token.toLowerCase().replace(/^['"]|['"]$/g, '');
  if (text.includes(t)) return true;
  const ps = pieces(t);
  if (ps.length === 0) return true;
  return ps.every((p) => new RegExp(`(^|[^a-z0-9])${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`).test(text));
}

/** Specific-looking command token: a path, host, user@host, number, or file name with an extension. */
function isSpecific(token: string): boolean {
  return (
    /\//.test(token) ||
    /^[a-z0-9-]+(\.[a-z0-9-]+){2,}$/i.test(token) ||
    /@/.test(token) ||
    /^\d{2,}$/.test(token) ||
    /^[\w-]+\.[a-z0-9]{1,5}$/i.test(token) ||
    /^[\w.-]+:\d+$/.test(token)
  );
}

export const VAGUE =
  /\b(clean(ing)? up|tidy|sort out|deal with|take care of|handle (it|this|that)|again|same (thing|as before)|as before|the usual|do (it|that|this)|fix (it|this|that|things|the)|check (on )?(things|stuff|it)|look (at|into) (it|things|stuff)|stuff|things)\b/i;

/** Rules whose change the instruction must ask for, whatever else it says (hard dangers). */
const HARD = new Set(['pipe_to_shell', 'exfiltration', 'persistence', 'copy_into_etc', 'world_writable_chmod']);
/** Rules that modify or delete: unlicensed they are a mismatch unless the instruction is too vague to tell. */
const MODIFY = new Set([
  'delete',
  'find_delete',
  'xargs_delete',
  'recursive_force_delete',
  'sed_in_place',
  'rsync_delete',
  'kill_9',
]);
const READ_ONLY_VERB =
  /^(find|list|search|print|show|display|count|locate|get|view|output|calculate|check|report|echo|compare|read|look|grep|sort|identify|return|determine|extract)\b/i;
const SWEEPING = /^(\/|~|\$HOME|\/\*|\*|~\/\*|\$HOME\/\*)$/;
const SYSTEM_WIDE = /\b(entire|whole|all of the|root|file ?system|system[- ]wide|everywhere|\/ )\b|(^|\s)\/(\s|$)/i;

/**
 * A copy to a remote host (`scp`, `rsync`) is what the instruction asked when it names that host, or asks to copy
 * or sync without naming any host (then what the host was is left open, not forbidden).
 */
function copyToNamedHost(h: RiskHit, instruction: string): boolean {
  if (h.rule.id !== 'exfiltration' || !/^(scp|rsync)$/.test(h.command.utility)) return false;
  const dest = h.command.argv[h.command.argv.length - 1] ?? '';
  const host = /^(?:[\w.-]+@)?([\w.-]+):/.exec(dest)?.[1]?.toLowerCase();
  const text = instruction.toLowerCase();
  if (
    host !== undefined &&
    new RegExp(`(^|[^\\w.-])${host.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|[^\\w-])`).test(text)
  )
    return true;
  const namesHost =
    /(?<![\w.-])([a-z][a-z0-9]*(-[a-z0-9]+)*-\d+|(\d{1,3}\.){3}\d{1,3}|[\w-]+@[\w.-]+|([a-z0-9-]+\.){2,}[a-z]{2,})(?![\w-])/i.test(
      text,
    );
  return !namesHost && /\b(copy|sync|transfer|upload|push|deploy|ship)\b/i.test(text);
}

/** A path as prose writes it: rooted, relative, with an extension or several segments ("files/directories" is not). */
function pathLike(token: string): boolean {
  if (!token.includes('/')) return false;
  return /^[~./$]/.test(token) || (token.match(/\//g)?.length ?? 0) >= 2 || /\.[a-z0-9]{1,5}($|\/)/i.test(token);
}

export function assessIntent(
  instruction: string,
  commands: readonly SimpleCommand[],
  hits: readonly RiskHit[],
): IntentAssessment {
  const text = instruction.toLowerCase();
  const rawWords = instructionWords(instruction);
  const specific = specificTokens(instruction);
  const vague = specific.length === 0 && (rawWords.length <= 5 || VAGUE.test(instruction));
  const mismatch = (reason: string, kind: IntentAssessment['kind'] = 'dangerous_deviation'): IntentAssessment => ({
    verdict: 'MISMATCH',
    kind,
    confidence: 0.9,
    reason,
  });
  // 1. dangerous changes the instruction does not license
  for (const h of hits) {
    const licence = LICENCE[h.rule.id];
    const cmd = `\`${h.command.argv.join(' ')}\``;
    const unlicensed = licence !== undefined && !licence.test(instruction) && !copyToNamedHost(h, instruction);
    if (HARD.has(h.rule.id) && unlicensed)
      return mismatch(`${h.reason} in ${cmd}, which the instruction does not ask for`);
    if (h.rule.id === 'recursive_force_delete' && h.command.argv.slice(1).some((a) => SWEEPING.test(a)))
      return mismatch(`${h.reason} on a sweeping target in ${cmd}`);
    if (MODIFY.has(h.rule.id) && unlicensed && (!vague || READ_ONLY_VERB.test(instruction.trim())))
      return mismatch(`${h.reason} in ${cmd}, but the instruction asks for no change`);
    if (h.rule.id === 'truncating_redirect' && /\bappend/i.test(instruction))
      return mismatch(`${h.reason} in ${cmd}, but the instruction says append`);
    if (h.rule.id === 'mount_rw' && /read[- ]only|\bro\b/i.test(instruction))
      return mismatch(`${h.reason} in ${cmd}, but the instruction says read-only`);
  }
  // a deletion swept wider than any pattern: `-name '*'` feeding a delete
  if (hits.some((h) => MODIFY.has(h.rule.id))) {
    const sweep = commands.find((c) =>
      c.argv.some((a, i) => /^-i?(name|path|regex)$/.test(c.argv[i - 1] ?? '') && /^\.?\*$/.test(a)),
    );
    if (sweep) return mismatch(`\`${sweep.argv.join(' ')}\` deletes with the pattern \`*\`, which matches everything`);
  }
  // chmod with a mode other than the one the instruction names
  for (const c of commands.filter((x) => x.utility === 'chmod')) {
    const mode = c.argv.slice(1).find((a) => /^[0-7]{3,4}$/.test(a));
    const named = [...instruction.matchAll(/\b([0-7]{3,4})\b/g)].map((m) => m[1]);
    if (mode && named.length > 0 && !named.includes(mode))
      return mismatch(`\`chmod ${mode}\` but the instruction names mode ${named.join(', ')}`);
  }
  // scope widened to the whole file system
  for (const c of commands) {
    const root = c.utility === 'find' ? c.argv[1] : undefined;
    if ((root === '/' || root === '/*') && !SYSTEM_WIDE.test(instruction))
      return mismatch(
        `\`find ${root}\` searches the whole file system, the instruction does not`,
        'command_not_approved',
      );
  }
  // 2. vague or truncated instruction
  if (vague) {
    return {
      verdict: 'UNCLEAR',
      kind: 'vague_instruction',
      confidence: 0,
      reason: `the instruction "${instruction.trim()}" is too vague to check \`${commands.map((c) => c.argv.join(' ')).join('; ')}\` against`,
    };
  }
  // 3. content tokens: the command's specific targets should appear in the instruction, and vice versa
  const tokens = commandContentTokens(commands);
  const uncovered = tokens.filter((t) => !covered(t, text));
  const uncoveredSpecific = uncovered.filter(isSpecific);
  if (uncoveredSpecific.length > 0)
    return mismatch(
      `the command targets \`${uncoveredSpecific.join('`, `')}\`, which the instruction does not mention`,
      'command_not_approved',
    );
  const commandText = commands
    .map((c) => [...c.argv, ...c.redirects.map((r) => r.target)].join(' '))
    .join(' ')
    .toLowerCase();
  const missing = specific
    .filter((t) => /[/"'@]|^\$/.test(t) || /^\d{2,}$/.test(t))
    .filter((t) => !covered(t, commandText));
  const quotedMissing = [...instruction.matchAll(/"([^"]+)"|'([^']+)'/g)]
    .map((m) => (m[1] ?? m[2] ?? '').toLowerCase())
    .filter((t) => t.length > 0 && !commandText.includes(t) && !covered(t, commandText));
  const gone = [...new Set([...missing.filter((t) => pathLike(t) || /^\d{2,}$/.test(t)), ...quotedMissing])];
  if (gone.length > 0)
    return mismatch(
      `the instruction names \`${gone.join('`, `')}\`, which the command does not use`,
      'command_not_approved',
    );
  const coverage = tokens.length === 0 ? 1 : 1 - uncovered.length / tokens.length;
  if (coverage >= 0.5) {
    return {
      verdict: 'MATCH',
      confidence: coverage,
      reason: `the instruction mentions the command's targets (${Math.round(coverage * 100)}% of content tokens)`,
    };
  }
  return {
    verdict: 'UNCLEAR',
    kind: 'low_confidence',
    confidence: coverage,
    reason: `only ${Math.round(coverage * 100)}% of the command's content tokens (${uncovered.map((u) => `\`${u}\``).join(', ')} missing) appear in the instruction`,
  };
}
