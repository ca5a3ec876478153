/**
 * Parser bridge: command text → the simple commands that would run, with argv, redirections and wrappers seen
 * through. Uses unbash (pure JS, synchronous, typed); see docs/reconciliation.md for why.
 */
import {
  parse,
  type Command,
  type CommandNode,
  type CompoundList,
  type PipelineNode,
  type Redirection,
  type Script,
  type Statement,
  type Word,
  type WordPart,
} from 'unbash';
import { canonicalArgv, utilityName } from './normalise.js';
import type { ParsedCommandLine, RedirectInfo, SimpleCommand } from './reconciliation.types.js';

const SHELLS = new Set(['sh', 'bash', 'zsh', 'dash', 'ksh', 'ash', 'fish']);
const INTERPRETERS = new Set(['python', 'python2', 'python3', 'perl', 'ruby', 'node', 'php']);
/** Options of wrappers that take a value (so the command starts after it). */
const WRAPPER_VALUE_OPTS: Record<string, ReadonlySet<string>> = {
  sudo: new Set(['-u', '-g', '-C', '-h', '-p', '-U', '-r', '-t', '-D', '-R', '-T']),
  env: new Set(['-u', '-C', '-S', '--unset', '--chdir']),
  nice: new Set(['-n', '--adjustment']),
  timeout: new Set(['-s', '-k', '--signal', '--kill-after']),
  xargs: new Set(['-n', '-I', '-P', '-L', '-d', '-s', '-E', '-a', '--max-args', '--max-procs', '--delimiter']),
  stdbuf: new Set(['-i', '-o', '-e']),
  ionice: new Set(['-c', '-n', '-p']),
  nohup: new Set(),
  exec: new Set(['-a']),
  command: new Set(),
  builtin: new Set(),
  time: new Set(['-f', '-o']),
  watch: new Set(['-n', '-d']),
};

interface Walk {
  readonly out: SimpleCommand[];
  readonly errors: string[];
  depth: number;
}

export function parseCommandLine(text: string): ParsedCommandLine {
  const walk: Walk = { out: [], errors: [], depth: 0 };
  let script: Script;
  try {
    script = parse(text);
  } catch (error) {
    return { text, commands: [], canonical: text.trim(), errors: [String(error)] };
  }
  for (const e of (script as { errors?: readonly { message: string }[] }).errors ?? []) walk.errors.push(e.message);
  const canonical = renderStatements(script.commands, walk, 'top');
  return { text, commands: walk.out, canonical, errors: walk.errors };
}

function renderStatements(statements: readonly Statement[], walk: Walk, origin: SimpleCommand['origin']): string {
  return statements.map((s) => renderNode(s.command, walk, origin) + (s.background ? ' &' : '')).join(' ; ');
}

function renderList(list: CompoundList, walk: Walk, origin: SimpleCommand['origin']): string {
  return renderStatements(list.commands, walk, origin);
}

function renderNode(
  node: PipelineNode | { type: 'AndOr'; commands: readonly PipelineNode[]; operators: readonly string[] },
  walk: Walk,
  origin: SimpleCommand['origin'],
  upstream: SimpleCommand[] = [],
): string {
  switch (node.type) {
    case 'AndOr':
      return node.commands
        .map((c, i) => (i === 0 ? '' : ` ${node.operators[i - 1]} `) + renderNode(c, walk, origin))
        .join('');
    case 'Pipeline': {
      const seen: SimpleCommand[] = [];
      const parts = node.commands.map((c) => {
        const before = walk.out.length;
        const r = renderNode(c, walk, origin, [...seen]);
        // the last top-level simple command of this element feeds the next one
        const produced = walk.out.slice(before).filter((s) => s.origin === origin || s.origin === 'wrapper');
        const last = produced[produced.length - 1];
        if (last) seen.push(last);
        return r;
      });
      const neg = node.prefixes.some((p) => p.type === 'Negation') ? '! ' : '';
      return neg + parts.join(' | ');
    }
    case 'Command':
      return renderCommand(node, walk, origin, upstream);
    case 'Subshell':
      return `( ${renderList(node.body, walk, 'subshell')} )`;
    case 'BraceGroup':
      return `{ ${renderList(node.body, walk, 'subshell')} ; }`;
    case 'Redirected': {
      const redirects = node.redirects.map((r) => renderRedirect(r, walk).text).join(' ');
      return `${renderNode(node.command, walk, origin, upstream)} ${redirects}`;
    }
    case 'If':
      return [
        `if ${renderList(node.clause, walk, 'compound')} then ${renderList(node.then, walk, 'compound')}`,
        ...node.elif.map(
          (e) => `elif ${renderList(e.clause, walk, 'compound')} then ${renderList(e.then, walk, 'compound')}`,
        ),
        node.else ? `else ${renderList(node.else, walk, 'compound')}` : '',
        'fi',
      ].join(' ');
    case 'For':
    case 'Select':
      return `${node.type.toLowerCase()} ${node.name.value} in ${(node.wordlist ?? []).map((w) => renderWord(w, walk)).join(' ')} do ${renderList(node.body, walk, 'compound')} done`;
    case 'While':
      return `${node.kind} ${renderList(node.clause, walk, 'compound')} do ${renderList(node.body, walk, 'compound')} done`;
    case 'ArithmeticFor':
      return `for (( )) do ${renderList(node.body, walk, 'compound')} done`;
    case 'Case':
      return `case ${renderWord(node.word, walk)} in ${node.items
        .map((i) => `${i.pattern.map((p) => p.value).join('|')}) ${renderList(i.body, walk, 'compound')} ;;`)
        .join(' ')} esac`;
    case 'Function': {
      const body =
        node.body.type === 'CompoundList'
          ? renderList(node.body, walk, 'compound')
          : renderNode(node.body, walk, 'compound');
      return `function ${node.name.value} ${body}`;
    }
    case 'Coproc': {
      const body =
        node.body.type === 'CompoundList'
          ? renderList(node.body, walk, 'compound')
          : renderNode(node.body as CommandNode, walk, 'compound');
      return `coproc ${body}`;
    }
    case 'TestCommand':
      return `[[ ${'expression' in node ? '…' : ''} ]]`;
    case 'ArithmeticCommand':
      return `(( ${node.body.replace(/\s+/g, '')} ))`;
    default:
      return '';
  }
}

function partsText(parts: readonly WordPart[] | undefined, fallback: string, walk: Walk): string {
  if (!parts) return fallback;
  return parts
    .map((p): string => {
      switch (p.type) {
        case 'CommandExpansion':
          return p.script ? `$( ${nested(p.script, walk)} )` : p.text;
        case 'ProcessSubstitution':
          return p.script ? `${p.operator}( ${nested(p.script, walk)} )` : p.text;
        case 'DoubleQuoted':
        case 'LocaleString':
          return partsText(p.parts as readonly WordPart[], p.text, walk);
        case 'Literal':
        case 'SingleQuoted':
        case 'AnsiCQuoted':
          return p.value;
        case 'Glob':
          return p.value;
        case 'ParameterExpansion':
          // ${NAME} and $NAME are the same thing
          return p.operation || p.index || p.prefix ? p.text : `$${p.parameter}`;
        default:
          return p.text;
      }
    })
    .join('');
}

function nested(script: Script, walk: Walk): string {
  if (walk.depth > 8) return '…';
  walk.depth += 1;
  const r = renderStatements(script.commands, walk, 'substitution');
  walk.depth -= 1;
  return r;
}

/** Value of a word with quotes removed and command substitutions rendered canonically (and collected). */
function renderWord(word: Word, walk: Walk): string {
  return partsText(word.parts, word.value, walk);
}

function renderRedirect(r: Redirection, walk: Walk): { text: string; info: RedirectInfo } {
  const fd = r.descriptor && r.descriptor.type === 'FileDescriptor' ? r.descriptor.value : undefined;
  if (r.type === 'HereDoc') {
    const info = { op: r.operator, fd, target: r.body.text };
    return { text: `${fd ?? ''}<< ${JSON.stringify(r.body.text)}`, info };
  }
  const target = r.target ? renderWord(r.target, walk) : '';
  return { text: `${fd ?? ''}${r.operator} ${target}`, info: { op: r.operator, fd, target } };
}

function renderCommand(node: Command, walk: Walk, origin: SimpleCommand['origin'], upstream: SimpleCommand[]): string {
  const assignments = node.prefix.filter((p) => p.type === 'Assignment').map((a) => a.text);
  const redirects: RedirectInfo[] = [];
  const redirectTexts: string[] = [];
  for (const r of node.redirects) {
    const { text, info } = renderRedirect(r, walk);
    redirects.push(info);
    redirectTexts.push(text);
  }
  const words: string[] = [];
  if (node.name) words.push(renderWord(node.name, walk));
  for (const a of node.suffix) {
    if (a.type === 'Word') words.push(renderWord(a, walk));
    else if (a.type === 'Assignment') words.push(a.text);
  }
  if (words.length > 0) {
    collect(words, [], assignments, redirects, upstream, walk, origin);
  }
  const canon = canonicalArgv(words);
  return [...assignments, ...canon, ...redirectTexts.sort()].join(' ');
}

/** Sees through wrappers, records the simple command that would run, recurses into `sh -c` strings. */
function collect(
  argv: readonly string[],
  wrappers: readonly string[],
  assignments: readonly string[],
  redirects: readonly RedirectInfo[],
  upstream: readonly SimpleCommand[],
  walk: Walk,
  origin: SimpleCommand['origin'],
): void {
  const utility = utilityName(argv[0] ?? '');
  const valueOpts = WRAPPER_VALUE_OPTS[utility];
  if (valueOpts && argv.length > 1 && walk.depth < 8) {
    let i = 1;
    const envAssign: string[] = [];
    while (i < argv.length) {
      const a = argv[i] ?? '';
      if (a === '--') {
        i += 1;
        break;
      }
      if (utility === 'env' && /^[A-Za-z_][A-Za-z0-9_]*=/.test(a)) {
        envAssign.push(a);
        i += 1;
        continue;
      }
      if (utility === 'timeout' && /^\d/.test(a)) {
        i += 1;
        break;
      }
      if (utility === 'nice' && /^-\d+$/.test(a)) {
        i += 1;
        continue;
      }
      if (!a.startsWith('-') || a === '-') break;
      i += valueOpts.has(a) ? 2 : 1;
    }
    const rest = argv.slice(i);
    if (rest.length > 0) {
      collect(rest, [...wrappers, utility], [...assignments, ...envAssign], redirects, upstream, walk, 'wrapper');
      if (utility !== 'xargs') return;
    }
  }
  const isShell = SHELLS.has(utility);
  if ((isShell || utility === 'eval') && walk.depth < 8) {
    const c = utility === 'eval' ? 0 : argv.indexOf('-c');
    const code = utility === 'eval' ? argv.slice(1).join(' ') : c > 0 ? argv[c + 1] : undefined;
    if (code !== undefined) {
      walk.depth += 1;
      try {
        const inner = parse(code);
        renderStatements(inner.commands, walk, 'wrapper');
        // rewrite origin of what was just added: they run under the shell
      } catch {
        walk.errors.push(`could not parse ${utility} -c string`);
      }
      walk.depth -= 1;
    }
  }
  const readsStdin =
    (isShell && !argv.slice(1).some((a) => !a.startsWith('-')) && !argv.includes('-c')) ||
    (isShell && argv.includes('-s')) ||
    (INTERPRETERS.has(utility.replace(/[\d.]+$/, '')) && (argv.length === 1 || argv.includes('-'))) ||
    (utility === 'source' && /\/dev\/stdin|^-$/.test(argv[1] ?? '')) ||
    (utility === '.' && /\/dev\/stdin/.test(argv[1] ?? ''));
  const runsUnknownCode =
    (readsStdin && upstream.length > 0) ||
    ((isShell || utility === 'eval') && argv.some((a) => a.includes('$('))) ||
    (isShell && argv.some((a) => /^<\(|^\/dev\/fd\//.test(a)));
  walk.out.push({
    argv,
    utility,
    wrappers,
    assignments,
    redirects,
    upstream: upstream.map((u) => u.utility),
    upstreamArgv: upstream.map((u) => u.argv),
    runsUnknownCode,
    origin,
  });
}
