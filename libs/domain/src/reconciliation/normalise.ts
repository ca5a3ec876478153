/**
 * Harmless-syntax normalisation: two commands whose canonical argv are equal do the same thing.
 * Covers quoting (the parser removes quotes), `~` ↔ `$HOME`, `${X}` ↔ `$X`, short-flag order/grouping/splitting
 * and GNU long spellings for the utilities in FLAG_TABLE (only where the option's meaning is certain),
 * `--opt=value` ↔ `--opt value`, find's implicit `-print` and `\;` ↔ `';'`.
 */

interface FlagSpec {
  /** Short options that take no value. */
  readonly bool: string;
  /** Short options that take a value (attached or next word). */
  readonly value: string;
  /** GNU long spelling → short letter. */
  readonly long: Readonly<Record<string, string>>;
}

const spec = (bool: string, value: string, long: Record<string, string> = {}): FlagSpec => ({ bool, value, long });

/** Boolean and value flags of common GNU utilities. Unknown flags leave the command's words untouched. */
export const FLAG_TABLE: Readonly<Record<string, FlagSpec>> = {
  rm: spec('rRfivdI', '', { recursive: 'r', force: 'f', verbose: 'v', dir: 'd' }),
  cp: spec('arRfivpnulsLPHxbT', 'St', {
    archive: 'a',
    recursive: 'r',
    force: 'f',
    interactive: 'i',
    verbose: 'v',
    'no-clobber': 'n',
    update: 'u',
    link: 'l',
    'symbolic-link': 's',
    dereference: 'L',
    'one-file-system': 'x',
    'target-directory': 't',
    suffix: 'S',
  }),
  mv: spec('fivnubT', 'St', {
    force: 'f',
    interactive: 'i',
    verbose: 'v',
    'no-clobber': 'n',
    update: 'u',
    'target-directory': 't',
  }),
  ls: spec('aAlhrtSR1dFiscupngoGQxmkLUX', 'wITI', {
    all: 'a',
    'almost-all': 'A',
    'human-readable': 'h',
    reverse: 'r',
    recursive: 'R',
    size: 's',
    directory: 'd',
    classify: 'F',
    inode: 'i',
    'numeric-uid-gid': 'n',
    dereference: 'L',
    'quote-name': 'Q',
  }),
  grep: spec('ivnlLcHhrRwxqsoEFPzaIUZbT', 'efmABCd', {
    'ignore-case': 'i',
    'invert-match': 'v',
    'line-number': 'n',
    'files-with-matches': 'l',
    'files-without-match': 'L',
    count: 'c',
    'with-filename': 'H',
    'no-filename': 'h',
    recursive: 'r',
    'dereference-recursive': 'R',
    'word-regexp': 'w',
    'line-regexp': 'x',
    quiet: 'q',
    silent: 'q',
    'no-messages': 's',
    'only-matching': 'o',
    'extended-regexp': 'E',
    'fixed-strings': 'F',
    'perl-regexp': 'P',
    'null-data': 'z',
    text: 'a',
    regexp: 'e',
    file: 'f',
    'max-count': 'm',
    'after-context': 'A',
    'before-context': 'B',
    context: 'C',
    'byte-offset': 'b',
    null: 'Z',
  }),
  egrep: spec('ivnlLcHhrRwxqsoFzaI', 'efmABC'),
  fgrep: spec('ivnlLcHhrRwxqsozaI', 'efmABC'),
  sort: spec('nrufbdhMRsVcgmz', 'ktoSTz'.replace('z', ''), {
    'numeric-sort': 'n',
    reverse: 'r',
    unique: 'u',
    'ignore-case': 'f',
    'human-numeric-sort': 'h',
    'month-sort': 'M',
    'random-sort': 'R',
    stable: 's',
    'version-sort': 'V',
    'ignore-leading-blanks': 'b',
    'dictionary-order': 'd',
    'general-numeric-sort': 'g',
    key: 'k',
    'field-separator': 't',
    output: 'o',
    merge: 'm',
    'zero-terminated': 'z',
  }),
  uniq: spec('cduiDz', 'fsw', {
    count: 'c',
    repeated: 'd',
    unique: 'u',
    'ignore-case': 'i',
    'skip-fields': 'f',
    'skip-chars': 's',
    'check-chars': 'w',
  }),
  wc: spec('lwcmL', '', { lines: 'l', words: 'w', bytes: 'c', chars: 'm', 'max-line-length': 'L' }),
  du: spec('ashckmbxLlS0', 'dBt', {
    all: 'a',
    summarize: 's',
    'human-readable': 'h',
    total: 'c',
    dereference: 'L',
    'one-file-system': 'x',
    bytes: 'b',
    'max-depth': 'd',
    'separate-dirs': 'S',
    'count-links': 'l',
  }),
  df: spec('haTiklPH', 'tBx', {
    'human-readable': 'h',
    all: 'a',
    'print-type': 'T',
    inodes: 'i',
    local: 'l',
    portability: 'P',
    type: 't',
  }),
  mkdir: spec('pv', 'm', { parents: 'p', verbose: 'v', mode: 'm' }),
  ln: spec('sfvnriLPbT', 'St', {
    symbolic: 's',
    force: 'f',
    verbose: 'v',
    'no-dereference': 'n',
    relative: 'r',
    interactive: 'i',
    logical: 'L',
    physical: 'P',
    'target-directory': 't',
  }),
  chmod: spec('Rvcf', '', { recursive: 'R', verbose: 'v', changes: 'c', silent: 'f', quiet: 'f' }),
  chown: spec('RvcfhHLP', '', {
    recursive: 'R',
    verbose: 'v',
    changes: 'c',
    silent: 'f',
    quiet: 'f',
    'no-dereference': 'h',
  }),
  chgrp: spec('RvcfhHLP', '', {
    recursive: 'R',
    verbose: 'v',
    changes: 'c',
    silent: 'f',
    quiet: 'f',
    'no-dereference': 'h',
  }),
  cat: spec('nbsAETvet', '', {
    number: 'n',
    'number-nonblank': 'b',
    'squeeze-blank': 's',
    'show-all': 'A',
    'show-ends': 'E',
    'show-tabs': 'T',
    'show-nonprinting': 'v',
  }),
  head: spec('qvz', 'nc', { lines: 'n', bytes: 'c', quiet: 'q', silent: 'q', verbose: 'v' }),
  tail: spec('fFqvrz', 'ncs', { lines: 'n', bytes: 'c', quiet: 'q', silent: 'q', verbose: 'v', 'sleep-interval': 's' }),
  diff: spec('qsyiwbBrNatTpdEZ', 'xXSIFW', {
    brief: 'q',
    'report-identical-files': 's',
    'side-by-side': 'y',
    'ignore-case': 'i',
    'ignore-all-space': 'w',
    'ignore-space-change': 'b',
    'ignore-blank-lines': 'B',
    recursive: 'r',
    'new-file': 'N',
    text: 'a',
    'expand-tabs': 't',
    'initial-tab': 'T',
    minimal: 'd',
  }),
  rsync: spec('avzrlptgoDhPnucqHxSWOJAXRIiy', 'eTfB', {
    archive: 'a',
    verbose: 'v',
    compress: 'z',
    recursive: 'r',
    links: 'l',
    perms: 'p',
    times: 't',
    group: 'g',
    owner: 'o',
    'human-readable': 'h',
    'dry-run': 'n',
    update: 'u',
    checksum: 'c',
    quiet: 'q',
    'hard-links': 'H',
    'one-file-system': 'x',
    sparse: 'S',
    'whole-file': 'W',
    relative: 'R',
    rsh: 'e',
    'itemize-changes': 'i',
  }),
  xargs: spec('0rtpx', 'nIPLdsEa', {
    null: '0',
    'no-run-if-empty': 'r',
    verbose: 't',
    interactive: 'p',
    exit: 'x',
    'max-args': 'n',
    'max-procs': 'P',
    'max-lines': 'L',
    delimiter: 'd',
    'max-chars': 's',
    'arg-file': 'a',
  }),
  cut: spec('sz', 'dfcb', { 'only-delimited': 's', delimiter: 'd', fields: 'f', characters: 'c', bytes: 'b' }),
  tr: spec('dscCt', '', { delete: 'd', 'squeeze-repeats': 's', complement: 'c', 'truncate-set1': 't' }),
  od: spec('bcdfiloxsv', 'AjNtSw', {
    'read-bytes': 'N',
    'skip-bytes': 'j',
    format: 't',
    'address-radix': 'A',
    'output-duplicates': 'v',
    width: 'w',
  }),
  readlink: spec('femnqsvz', '', {
    canonicalize: 'f',
    'canonicalize-existing': 'e',
    'canonicalize-missing': 'm',
    'no-newline': 'n',
    quiet: 'q',
    silent: 's',
    verbose: 'v',
    zero: 'z',
  }),
  comm: spec('123iz', '', { 'zero-terminated': 'z' }),
  paste: spec('sz', 'd', { serial: 's', delimiters: 'd', 'zero-terminated': 'z' }),
  touch: spec('acmhf', 'drt', { 'no-create': 'c', reference: 'r', date: 'd' }),
  curl: spec('sSLkfIvOiJgGN#', 'odHXuAeTFbcmrxwEz', {
    silent: 's',
    'show-error': 'S',
    location: 'L',
    insecure: 'k',
    fail: 'f',
    head: 'I',
    verbose: 'v',
    'remote-name': 'O',
    include: 'i',
    output: 'o',
    data: 'd',
    header: 'H',
    request: 'X',
    user: 'u',
    'user-agent': 'A',
    referer: 'e',
    'upload-file': 'T',
    form: 'F',
    cookie: 'b',
    'max-time': 'm',
    proxy: 'x',
  }),
  tar: spec('cxtzjJvpkrunOSPW', 'fCTXbN', {
    create: 'c',
    extract: 'x',
    list: 't',
    gzip: 'z',
    bzip2: 'j',
    xz: 'J',
    verbose: 'v',
    'preserve-permissions': 'p',
    'keep-old-files': 'k',
    append: 'r',
    update: 'u',
    file: 'f',
    directory: 'C',
    'files-from': 'T',
    'exclude-from': 'X',
  }),
  nl: spec('p', 'bvwsin', {}),
  split: spec('de', 'abClnt', { lines: 'l', bytes: 'b' }),
  basename: spec('az', 's', { multiple: 'a', suffix: 's' }),
  seq: spec('w', 'sf', { separator: 's', format: 'f', 'equal-width': 'w' }),
  file: spec('bziLhkN', 'fFm', { brief: 'b', dereference: 'L', 'no-dereference': 'h' }),
  stat: spec('LftZ', 'c', { dereference: 'L', 'file-system': 'f', terse: 't', format: 'c' }),
  md5sum: spec('bctwz', '', { binary: 'b', check: 'c', text: 't', warn: 'w' }),
  sha256sum: spec('bctwz', '', { binary: 'b', check: 'c', text: 't', warn: 'w' }),
  zcat: spec('fqvlt', '', { force: 'f', quiet: 'q', verbose: 'v' }),
  gzip: spec('cdfklnNqrtv123456789', 'S', {
    stdout: 'c',
    'to-stdout': 'c',
    decompress: 'd',
    force: 'f',
    keep: 'k',
    list: 'l',
    quiet: 'q',
    recursive: 'r',
    test: 't',
    verbose: 'v',
    suffix: 'S',
  }),
};

const FIND_ACTIONS = new Set([
  '-print',
  '-print0',
  '-printf',
  '-fprint',
  '-fprint0',
  '-fprintf',
  '-ls',
  '-fls',
  '-exec',
  '-execdir',
  '-ok',
  '-okdir',
  '-delete',
  '-quit',
]);
const FIND_EXEC = new Set(['-exec', '-execdir', '-ok', '-okdir']);
const WRAPPERS = new Set(['sudo', 'env', 'nohup', 'nice', 'timeout', 'xargs', 'time', 'exec', 'command', 'stdbuf']);

/** `/usr/bin/grep` → `grep`, `\ls` → `ls`. */
export function utilityName(word: string): string {
  const base = word.replace(/^\\/, '').split('/').pop() ?? word;
  return base;
}

/** One word: `~` and `${HOME}` spelt `$HOME`. */
export function normaliseWord(word: string): string {
  return word
    .replace(/^~(?=\/|$)/, '$HOME')
    .replace(/\$\{HOME\}/g, '$HOME')
    .replace(/^(-[-\w]+=)~(?=\/|$)/, '$1$HOME');
}

/** Canonical argv of one simple command (wrappers and `find -exec` commands are canonicalised recursively). */
export function canonicalArgv(words: readonly string[]): string[] {
  if (words.length === 0) return [];
  const w = words.map(normaliseWord);
  const name = w[0] ?? '';
  const utility = utilityName(name);
  if (utility === 'find') return canonicalFind(w);
  if (WRAPPERS.has(utility) && utility !== 'xargs') {
    // keep the wrapper's own words, canonicalise the wrapped command
    const start = w.findIndex((x, i) => i > 0 && !x.startsWith('-') && !/^[A-Za-z_]\w*=/.test(x) && !/^\d/.test(x));
    if (start > 0 && !isValueOfPrevious(w, start)) return [...w.slice(0, start), ...canonicalArgv(w.slice(start))];
    return w;
  }
  const table = FLAG_TABLE[utility];
  if (!table) return [name, ...splitLongValues(w.slice(1))];
  return [name, ...canonicalOptions(w.slice(1), table, utility)];
}

function isValueOfPrevious(w: readonly string[], i: number): boolean {
  const prev = w[i - 1] ?? '';
  return ['-u', '-g', '-n', '-s', '-k', '-C', '-h', '-p'].includes(prev);
}

function splitLongValues(args: readonly string[]): string[] {
  const out: string[] = [];
  for (const a of args) {
    const m = /^(--[A-Za-z][\w-]*)=(.*)$/s.exec(a);
    if (m) out.push(m[1] ?? '', m[2] ?? '');
    else out.push(a);
  }
  return out;
}

/** getopt-like reading for a known utility: booleans become a sorted set, valued options keep their order. */
function canonicalOptions(args: readonly string[], table: FlagSpec, utility: string): string[] {
  const bools = new Set<string>();
  const valued: string[] = [];
  const rest: string[] = [];
  let i = 0;
  for (; i < args.length; i += 1) {
    const a = args[i] ?? '';
    if (a === '--') {
      rest.push(...args.slice(i));
      break;
    }
    if (a.startsWith('--') && a.length > 2) {
      const eq = a.indexOf('=');
      const longName = eq > 0 ? a.slice(2, eq) : a.slice(2);
      const letter = table.long[longName];
      if (letter && table.bool.includes(letter) && eq < 0) {
        bools.add(letter);
        continue;
      }
      if (letter && table.value.includes(letter)) {
        const value = eq > 0 ? a.slice(eq + 1) : args[++i];
        valued.push(`-${letter}`, value ?? '');
        continue;
      }
      if (eq > 0) rest.push(a.slice(0, eq), a.slice(eq + 1));
      else rest.push(a);
      continue;
    }
    if (/^-[^-]/.test(a)) {
      const parsed = readCluster(a, args[i + 1], table);
      if (parsed) {
        parsed.bools.forEach((b) => bools.add(b));
        valued.push(...parsed.valued);
        if (parsed.consumedNext) i += 1;
        continue;
      }
    }
    rest.push(a);
    if (utility === 'xargs' && !a.startsWith('-')) {
      // the command xargs runs starts here: canonicalise it on its own
      return [...[...bools].sort().map((b) => `-${b}`), ...valued, ...canonicalArgv(args.slice(i))];
    }
  }
  return [...[...bools].sort().map((b) => `-${b}`), ...valued, ...rest];
}

function readCluster(
  cluster: string,
  next: string | undefined,
  table: FlagSpec,
): { bools: string[]; valued: string[]; consumedNext: boolean } | undefined {
  const bools: string[] = [];
  const valued: string[] = [];
  for (let j = 1; j < cluster.length; j += 1) {
    const c = cluster[j] ?? '';
    if (table.bool.includes(c)) {
      bools.push(c === 'R' && table.bool.includes('r') && table.long['recursive'] === 'r' ? 'r' : c);
      continue;
    }
    if (table.value.includes(c)) {
      const attached = cluster.slice(j + 1);
      if (attached.length > 0) return { bools, valued: [...valued, `-${c}`, attached], consumedNext: false };
      if (next === undefined) return undefined;
      return { bools, valued: [...valued, `-${c}`, next], consumedNext: true };
    }
    return undefined; // unknown letter: leave the word alone
  }
  return { bools, valued, consumedNext: false };
}

function canonicalFind(w: readonly string[]): string[] {
  const out: string[] = [w[0] ?? 'find'];
  let hasAction = false;
  let i = 1;
  while (i < w.length) {
    const a = w[i] ?? '';
    if (FIND_ACTIONS.has(a)) hasAction = true;
    if (FIND_EXEC.has(a)) {
      let end = i + 1;
      while (end < w.length && w[end] !== ';' && w[end] !== '+') end += 1;
      out.push(a, ...canonicalArgv(w.slice(i + 1, end)));
      if (end < w.length) out.push(w[end] ?? ';');
      i = end + 1;
      continue;
    }
    out.push(a);
    i += 1;
  }
  if (out.length === 1 || (out[1] ?? '').startsWith('-') || out[1] === '(' || out[1] === '!') out.splice(1, 0, '.');
  if (!hasAction) out.push('-print');
  return out;
}
