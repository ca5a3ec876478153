/**
 * Flag-aware reading of a tool's argv: `--flag=value` and `--flag value`, grouped short flags (`-it`), attached
 * short values (`-nbilling`) and aliases (`-n` = `--namespace`) all read the same. Flags are named by their long
 * spelling without dashes when an alias is known.
 */

export interface ArgvSpec {
  /** Options that take a value, by any spelling (`-n`, `--namespace`). */
  readonly values?: readonly string[];
  /** Spelling → canonical name (`-n` → `namespace`, `--all-namespaces` → `A`). */
  readonly aliases?: Readonly<Record<string, string>>;
  /** Options are words with one dash (`-auto-approve`, `-target=x`): terraform, find. */
  readonly singleDashLong?: boolean;
}

export interface ReadArgv {
  /** Words that are not options or option values, in order. */
  readonly positionals: readonly string[];
  /** Canonical option name → the values given (empty string for a boolean). */
  readonly options: ReadonlyMap<string, readonly string[]>;
  /** Words after `--` (a command to run, for exec-like tools). */
  readonly rest: readonly string[];
}

const bare = (spelling: string): string => spelling.replace(/^-+/, '');

function canonicalOption(spelling: string, spec: ArgvSpec): string {
  return spec.aliases?.[spelling] ?? bare(spelling);
}

export function readArgv(args: readonly string[], spec: ArgvSpec = {}): ReadArgv {
  const values = new Set((spec.values ?? []).map((v) => canonicalOption(v, spec)));
  const positionals: string[] = [];
  const options = new Map<string, string[]>();
  const put = (name: string, value: string): void => {
    options.set(name, [...(options.get(name) ?? []), value]);
  };
  for (let i = 0; i < args.length; i += 1) {
    const a = args[i] ?? '';
    if (a === '--') return { positionals, options, rest: args.slice(i + 1) };
    if ((a.startsWith('--') && a.length > 2) || (spec.singleDashLong === true && /^-[A-Za-z]/.test(a))) {
      const eq = a.indexOf('=');
      const name = canonicalOption(eq > 0 ? a.slice(0, eq) : a, spec);
      if (eq > 0) put(name, a.slice(eq + 1));
      else if (values.has(name)) {
        put(name, args[i + 1] ?? '');
        i += 1;
      } else put(name, '');
      continue;
    }
    if (/^-[A-Za-z]/.test(a)) {
      const whole = canonicalOption(a, spec);
      // a single-dash long option (`-auto-approve`, `-target=x`) or a known alias spelled whole
      if (spec.aliases?.[a] !== undefined || a.length === 2) {
        if (values.has(whole)) {
          put(whole, args[i + 1] ?? '');
          i += 1;
        } else put(whole, '');
        continue;
      }
      if (a.includes('=')) {
        const eq = a.indexOf('=');
        put(canonicalOption(a.slice(0, eq), spec), a.slice(eq + 1));
        continue;
      }
      // grouped short flags; the first one taking a value takes the rest of the word or the next word
      let consumedNext = false;
      for (let k = 1; k < a.length; k += 1) {
        const name = canonicalOption(`-${a[k]}`, spec);
        if (values.has(name)) {
          const attached = a.slice(k + 1);
          if (attached.length > 0) put(name, attached);
          else {
            put(name, args[i + 1] ?? '');
            consumedNext = true;
          }
          break;
        }
        put(name, '');
      }
      if (consumedNext) i += 1;
      continue;
    }
    positionals.push(a);
  }
  return { positionals, options, rest: [] };
}

export const opt = (r: ReadArgv, name: string): string | undefined => {
  const v = r.options.get(name);
  return v === undefined ? undefined : v[v.length - 1];
};
export const hasOpt = (r: ReadArgv, ...names: string[]): boolean => names.some((n) => r.options.has(n));
