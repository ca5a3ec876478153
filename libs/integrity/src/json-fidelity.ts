/**
 * What JSON (I-JSON, RFC 7493) and PostgreSQL `jsonb` can hold faithfully: the ledger hashes and stores only such
 * values, so what is read back is exactly what was hashed. Refused, with the field path:
 * - a lone UTF-16 surrogate in a string or an object member name (UTF-8 cannot encode it: `jsonb` refuses the
 *   `\ud800` escape, and a driver would silently write U+FFFD instead);
 * - NUL (U+0000) in a string or a member name (`jsonb` and `text` cannot store it);
 * - a number that is not finite, an integer beyond ±(2^53−1) (not exactly representable: it reads back as another
 *   number), or -0 (reads back as 0);
 * - anything that is not a JSON value: undefined in an array, functions, symbols, bigints, Dates, Maps, buffers.
 * Pure: used by every edge (HTTP, TCP, NATS, the client library before it spools, CLI input files) and by the event
 * store's append validation as the last line of defence.
 */
export interface JsonFidelityIssue {
  /** Dotted path of the offending field (`artifacts.0.sha256`); empty for the value itself. */
  path: string;
  message: string;
}

/** Most issues reported for one value (a hostile payload could otherwise make the error as big as itself). */
const MAX_ISSUES = 20;

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** No lone surrogate: `String.prototype.isWellFormed` where the runtime has it (Node ≥ 20), else a regex. */
function isWellFormed(text: string): boolean {
  const native = (text as { isWellFormed?: () => boolean }).isWellFormed;
  return native ? native.call(text) : !LONE_SURROGATE.test(text);
}

/** Why a string cannot be stored as it is, or undefined when it can. */
export function stringFidelityProblem(text: string): string | undefined {
  if (text.includes('\u0000')) return 'holds a NUL character (U+0000), which JSON storage cannot hold';
  if (!isWellFormed(text)) {
    return 'holds a lone UTF-16 surrogate, which is not Unicode text and cannot be stored as UTF-8';
  }
  return undefined;
}

/** Why a number cannot be stored as it is, or undefined when it can. */
export function numberFidelityProblem(value: number, options: JsonFidelityOptions = {}): string | undefined {
  if (!Number.isFinite(value)) return `is not a finite number (${String(value)})`;
  if (options.input === false) return undefined;
  if (Number.isInteger(value) && !Number.isSafeInteger(value)) {
    return 'is an integer beyond ±(2^53−1): it cannot be represented exactly and would read back as another number';
  }
  if (Object.is(value, -0)) return 'is -0, which reads back as 0';
  return undefined;
}

/** A member name as a path segment that is itself printable and storable (its bad characters escaped). */
export function printablePathSegment(name: string): string {
  let out = '';
  for (let i = 0; i < name.length; i++) {
    const unit = name.charCodeAt(i);
    const isHigh = unit >= 0xd800 && unit <= 0xdbff;
    const next = name.charCodeAt(i + 1);
    if (isHigh && next >= 0xdc00 && next <= 0xdfff) {
      out += name[i]! + name[i + 1]!;
      i += 1;
    } else if (unit < 0x20 || (unit >= 0xd800 && unit <= 0xdfff)) {
      out += `\\u${unit.toString(16).padStart(4, '0')}`;
    } else {
      out += name[i]!;
    }
  }
  return out;
}

export interface JsonFidelityOptions {
  /**
   * True (the default) for input as received: integers beyond ±(2^53−1) and -0 are refused too (I-JSON: the
   * sender's number is not the one that would be stored). False for a value already parsed, as the event store sees
   * it: any finite number is stored and read back exactly as that double.
   */
  input?: boolean;
}

/**
 * Every place where `value` holds something JSON storage cannot hold faithfully (at most 20), in document order.
 * Iterative, so a deeply nested payload cannot overflow the stack. Empty when the value can be stored as it is.
 */
export function jsonFidelityIssues(
  value: unknown,
  basePath = '',
  options: JsonFidelityOptions = {},
): JsonFidelityIssue[] {
  const issues: JsonFidelityIssue[] = [];
  const stack: { value: unknown; path: string }[] = [{ value, path: basePath }];
  const seen = new Set<object>();
  while (stack.length > 0 && issues.length < MAX_ISSUES) {
    const { value: current, path } = stack.pop()!;
    const problem = valueProblem(current, options);
    if (problem !== undefined) {
      issues.push({ path, message: problem });
      continue;
    }
    if (typeof current !== 'object' || current === null) continue;
    if (seen.has(current)) {
      issues.push({ path, message: 'refers to itself (a cycle), which JSON cannot hold' });
      continue;
    }
    seen.add(current);
    const children: { value: unknown; path: string }[] = [];
    if (Array.isArray(current)) {
      for (let i = 0; i < current.length; i++) {
        const item: unknown = current[i];
        const itemPath = join(path, String(i));
        if (item === undefined) issues.push({ path: itemPath, message: 'is undefined, which JSON cannot hold' });
        else children.push({ value: item, path: itemPath });
      }
    } else {
      for (const [name, member] of Object.entries(current)) {
        const memberPath = join(path, printablePathSegment(name));
        const nameProblem = stringFidelityProblem(name);
        if (nameProblem !== undefined) {
          issues.push({ path: memberPath, message: `the member name ${nameProblem}` });
          continue;
        }
        if (member !== undefined) children.push({ value: member, path: memberPath });
      }
    }
    // Reversed onto the stack: issues come out in document order.
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
  }
  return issues.slice(0, MAX_ISSUES);
}

/** True when `value` can be stored and read back exactly as it is. */
export function isFaithfulJson(value: unknown): boolean {
  return jsonFidelityIssues(value).length === 0;
}

function valueProblem(value: unknown, options: JsonFidelityOptions): string | undefined {
  switch (typeof value) {
    case 'string':
      return stringFidelityProblem(value);
    case 'number':
      return numberFidelityProblem(value, options);
    case 'boolean':
      return undefined;
    case 'object':
      if (value === null || Array.isArray(value)) return undefined;
      return isPlainObject(value) ? undefined : 'is not a plain JSON object';
    default:
      return `is a ${typeof value}, which JSON cannot hold`;
  }
}

/** An object JSON holds as its own members: not a Date, Map, Set, RegExp, typed array, boxed primitive… */
function isPlainObject(value: object): boolean {
  return Object.prototype.toString.call(value) === '[object Object]';
}

function join(path: string, segment: string): string {
  return path === '' ? segment : `${path}.${segment}`;
}

const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, 'g');

/** `text` with each NUL and lone surrogate replaced by U+FFFD (the replacement character). */
export function storableText(text: string): string {
  const withoutNul = text.replaceAll('\u0000', '\ufffd');
  return isWellFormed(withoutNul) ? withoutNul : withoutNul.replace(LONE_SURROGATES, '\ufffd');
}

/**
 * A JSON value whose strings and member names hold no NUL or lone surrogate (each replaced by U+FFFD): the value
 * itself when it holds none (the common case: no copy), else a copy. For data the ledger derives from what it stored
 * before this check existed (a verdict quoting a stored command), never for input, which is refused instead.
 */
export function withStorableText<T>(value: T): T {
  return holdsUnstorableText(value) ? storableCopy(value) : value;
}

function isStorableText(text: string): boolean {
  return !text.includes('\u0000') && isWellFormed(text);
}

function holdsUnstorableText(value: unknown): boolean {
  if (typeof value === 'string') return !isStorableText(value);
  if (Array.isArray(value)) return value.some(holdsUnstorableText);
  if (typeof value === 'object' && value !== null && isPlainObject(value)) {
    for (const [name, member] of Object.entries(value)) {
      if (!isStorableText(name) || holdsUnstorableText(member)) return true;
    }
  }
  return false;
}

function storableCopy<T>(value: T): T {
  if (typeof value === 'string') return storableText(value) as T;
  if (Array.isArray(value)) return value.map((item: unknown) => storableCopy(item)) as T;
  if (typeof value === 'object' && value !== null && isPlainObject(value)) {
    return Object.fromEntries(
      Object.entries(value).map(([name, member]) => [storableText(name), storableCopy(member)]),
    ) as T;
  }
  return value;
}
