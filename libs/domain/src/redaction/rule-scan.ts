/**
 * Finding one rule's matches in a text, fast, with exactly the matches of a plain global scan (`regex.exec` from 0,
 * each search going on at the end of the last match). A scan of a 4 KiB text costs ~0.5–2 µs per rule in V8 unless
 * the pattern starts with one literal character; searching one character (`indexOf`) costs ~0.05 µs when absent.
 * So a rule may declare, for speed only, where its matches can be:
 *
 * - `gate`: strings one of which every match holds at most `within` characters after its start (`Infinity`: anywhere).
 *   Without any in the text the rule does not run; with one, its scan starts `within` characters before the first.
 * - `startsAt`: every match starts at the character `char`, followed by one of `next`. The rule is tried (sticky) only
 *   there, in order, skipping what the last match covered: the matches a global scan finds.
 *
 * - `assignment`: the match is a value assigned to a name; it is looked for only around the operators followed by a
 *   long enough value (assignment-scan.ts).
 *
 * A wrong declaration would lose secrets: redactor.spec.ts compares the result with a plain scan of every rule.
 */
import { scanAssignments, type AssignmentTables, type RuleAssignment } from './assignment-scan.js';

export interface RuleGate {
  readonly holds: readonly string[];
  readonly within: number;
}

export interface RuleStart {
  /** One character. */
  readonly char: string;
  /** The characters one of which follows `char` (exact case: list both cases for a case-insensitive rule). */
  readonly next: string;
}

export interface RuleLocator {
  readonly gate?: RuleGate;
  readonly startsAt?: RuleStart;
  readonly assignment?: RuleAssignment;
}

/** A compiled rule's regular expressions: global (`g`) for scans, sticky (`y`) for tries at one place. */
export interface RuleRegexes {
  readonly global: RegExp;
  readonly sticky: RegExp | undefined;
  /** `startsAt.next` as a table by character code (ASCII only). */
  readonly next: Uint8Array | undefined;
  /** `assignment.name` and `.value` as tables by character code. */
  readonly assignment: AssignmentTables | undefined;
}

/** The table of `startsAt.next`, or undefined when a character of it is not ASCII. */
export function nextTable(next: string): Uint8Array | undefined {
  const table = new Uint8Array(128);
  for (let i = 0; i < next.length; i++) {
    const code = next.charCodeAt(i);
    if (code >= 128) return undefined;
    table[code] = 1;
  }
  return table;
}

/** Adds to `found` each match of the rule in `text`, in order: the matches of `regex.exec` from 0. */
export function scanRule(text: string, locator: RuleLocator, regexes: RuleRegexes, found: RegExpExecArray[]): void {
  if (locator.assignment && regexes.assignment) {
    scanAssignments(text, locator.assignment, regexes.assignment, regexes.global, found);
    return;
  }
  if (locator.startsAt && regexes.sticky && regexes.next) {
    tryAtStarts(text, locator.startsAt.char, regexes.next, regexes.sticky, found);
    return;
  }
  const from = locator.gate ? gateStart(text, locator.gate) : 0;
  if (from < 0) return;
  const regex = regexes.global;
  regex.lastIndex = from;
  for (let match = regex.exec(text); match; match = regex.exec(text)) {
    if (match[0].length === 0) regex.lastIndex++;
    found.push(match);
  }
}

/** Where a scan must start (`within` before the first string found), or -1 when none is in the text. */
function gateStart(text: string, gate: RuleGate): number {
  let first = -1;
  for (const holds of gate.holds) {
    if (first < 0) first = text.indexOf(holds);
    else if (first > 0 && text.lastIndexOf(holds, first - 1) >= 0) first = text.indexOf(holds); // an earlier one
    if (first === 0 || (first > 0 && gate.within === Infinity)) break;
  }
  return first < 0 ? -1 : Math.max(0, first - gate.within);
}

function tryAtStarts(text: string, char: string, next: Uint8Array, sticky: RegExp, found: RegExpExecArray[]): void {
  let free = 0; // where the last match ended: a global scan goes on from there
  for (let at = text.indexOf(char); at >= 0; at = text.indexOf(char, at + 1)) {
    if (at < free || next[text.charCodeAt(at + 1)] !== 1) continue; // NaN (past the end) or ≥ 128: undefined
    sticky.lastIndex = at;
    const match = sticky.exec(text);
    if (!match) continue;
    free = match[0].length === 0 ? at + 1 : sticky.lastIndex;
    found.push(match);
  }
}
