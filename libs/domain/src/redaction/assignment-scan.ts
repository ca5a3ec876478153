/**
 * For rules that find a value assigned to a name (`api_key: "…"`, `token=…`): instead of scanning the whole text,
 * look only around the operators (`=`, `=>`, `:`) followed by a long enough value, the rare part of such a match.
 * Exactly the matches of a plain global scan, when the rule's matches all have this shape (its `assignment`):
 *
 * 1. a match starts with 1 to `before` characters of `name`, then at most one quote, spaces or tabs, and an operator;
 * 2. after the operator come spaces or tabs, at most one quote, then at least `valueMin` characters of `value`, and
 *    the match ends at the latest where that run of `value` characters ends.
 *
 * Each such operator gives a window, from where the name before it can start to the end of its value; the rule's
 * regex runs over the text cut at the window's end from the window's start (or from where the last match ended).
 * A match is never cut by the end of its own window (2), and the first match a window finds is the first of the
 * whole text from there (1: a match starting there and reaching past the window would have to hold an operator in
 * the window first). Windows only move forward: an operator is never part of the name before a later one.
 */
export interface RuleAssignment {
  /** The characters of a name: ASCII, no quote, space, tab, `=` or `:`. */
  readonly name: string;
  readonly before: number;
  readonly valueMin: number;
  /** The characters of a value: ASCII, no quote, space or tab. */
  readonly value: string;
}

/** The table of `value` (or `name`) by character code, or undefined when it holds a character it cannot. */
export function charTable(chars: string, refused = ''): Uint8Array | undefined {
  const table = new Uint8Array(128);
  for (let i = 0; i < chars.length; i++) {
    const code = chars.charCodeAt(i);
    if (code >= 128 || code === QUOTE || code === APOSTROPHE || isBlank(code) || refused.includes(chars[i]!)) {
      return undefined;
    }
    table[code] = 1;
  }
  return table;
}

/** An assignment's character tables. */
export interface AssignmentTables {
  readonly name: Uint8Array;
  readonly value: Uint8Array;
}

/** Beyond this many operators with a value, one plain scan from the first window is cheaper than windows. */
const MAX_WINDOWS = 16;

const SPACE = 0x20;
const TAB = 0x09;
const QUOTE = 0x22;
const APOSTROPHE = 0x27;

/** Adds to `found` each match of the global `regex` in `text`, in order, given the rule's assignment shape. */
export function scanAssignments(
  text: string,
  assignment: RuleAssignment,
  tables: AssignmentTables,
  regex: RegExp,
  found: RegExpExecArray[],
): void {
  const windows = operatorWindows(text, assignment.valueMin, tables.value);
  if (windows.length === 0) return;
  if (windows.length > 2 * MAX_WINDOWS) {
    regex.lastIndex = Math.max(0, windowStart(text, windows[0]!, assignment.before, tables.name));
    for (let match = regex.exec(text); match; match = regex.exec(text)) {
      if (match[0].length === 0) regex.lastIndex++;
      found.push(match);
    }
    return;
  }
  let free = 0; // where the last match ended
  for (let i = 0; i < windows.length; i += 2) {
    const operator = windows[i]!;
    const end = windows[i + 1]!;
    const start = windowStart(text, operator, assignment.before, tables.name);
    if (start < 0) continue;
    const from = Math.max(free, start);
    if (from >= end) continue;
    regex.lastIndex = from;
    const match = regex.exec(end === text.length ? text : text.slice(0, end));
    if (!match) continue;
    free = match[0].length === 0 ? match.index + 1 : regex.lastIndex;
    found.push(match);
  }
}

/** Where a match with this operator can start at the earliest: its name's first character; -1 when it has none. */
function windowStart(text: string, operator: number, before: number, name: Uint8Array): number {
  let end = operator;
  while (end > 0 && isBlank(text.charCodeAt(end - 1))) end--;
  const code = text.charCodeAt(end - 1);
  if (code === QUOTE || code === APOSTROPHE) end--;
  let start = end;
  while (start > 0 && end - start < before && name[text.charCodeAt(start - 1)] === 1) start--;
  return start === end ? -1 : start;
}

/** [operator, end of its value, …] for each `=`, `=>` or `:` followed by at least `valueMin` value characters. */
function operatorWindows(text: string, valueMin: number, value: Uint8Array): number[] {
  const colons = windowsOf(text, ':', valueMin, value);
  const equals = windowsOf(text, '=', valueMin, value);
  if (colons.length === 0 || equals.length === 0) return colons.length === 0 ? equals : colons;
  const windows: number[] = [];
  let c = 0;
  let e = 0;
  while (c < colons.length || e < equals.length) {
    const fromColons = e >= equals.length || (c < colons.length && colons[c]! < equals[e]!);
    const from = fromColons ? colons : equals;
    const at = fromColons ? c : e;
    windows.push(from[at]!, from[at + 1]!);
    if (fromColons) c += 2;
    else e += 2;
  }
  return windows;
}

function windowsOf(text: string, operator: string, valueMin: number, value: Uint8Array): number[] {
  const windows: number[] = [];
  let runStart = 0;
  let runEnd = 0; // the last value run measured: operators inside it share its end
  for (let at = text.indexOf(operator); at >= 0; at = text.indexOf(operator, at + 1)) {
    let end = -1;
    for (let start = valueStart(text, at + 1), tries = 0; tries < 2; tries++) {
      if (start < runStart || start >= runEnd) {
        runStart = start;
        runEnd = start;
        while (value[text.charCodeAt(runEnd)] === 1) runEnd++;
      }
      if (runEnd - start >= valueMin) end = runEnd;
      if (operator !== '=' || text.charCodeAt(at + 1) !== 0x3e) break;
      start = valueStart(text, at + 2); // `=>`
    }
    if (end >= 0) windows.push(at, end);
  }
  return windows;
}

function valueStart(text: string, from: number): number {
  let at = from;
  while (isBlank(text.charCodeAt(at))) at++;
  const code = text.charCodeAt(at);
  return code === QUOTE || code === APOSTROPHE ? at + 1 : at;
}

function isBlank(code: number): boolean {
  return code === SPACE || code === TAB;
}
