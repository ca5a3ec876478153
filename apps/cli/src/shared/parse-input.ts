import { jsonFidelityIssues } from '@audit-ledger/integrity';
import type { z } from 'zod';
import { badInput } from './cli-failure.js';

/**
 * Flags and input files arrive as loose strings: the domain's request schema decides, and a failure names field and
 * flag. Input JSON storage cannot hold faithfully (a lone surrogate or NUL, an integer beyond ±(2^53−1)) is refused
 * first, before anything is sent or spooled.
 */
export function parseInput<S extends z.ZodType>(
  schema: S,
  candidate: unknown,
  what: string,
  flagsByField: Record<string, string>,
): z.output<S> {
  const result = schema.safeParse(candidate);
  const issues = result.success
    ? []
    : result.error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }));
  // The schema's word on a field comes first (a flag that is not a number arrives as NaN for it to report).
  const reported = new Set(issues.map((issue) => issue.path));
  const unfaithful = jsonFidelityIssues(candidate).filter((issue) => !reported.has(issue.path));
  if (issues.length > 0 || unfaithful.length > 0) throw badInput(what, [...issues, ...unfaithful], flagsByField);
  return result.data as z.output<S>;
}

/** Numbers stay strings until the schema sees them, so `--exit-code abc` is reported by the schema, not lost. */
export const toNumber = (value: string | undefined): number | undefined =>
  value === undefined ? undefined : /^-?\d+$/.test(value.trim()) ? Number(value) : Number.NaN;

export const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** Drops keys whose value is undefined, so optional request fields are simply absent. */
export function defined<T extends Record<string, unknown>>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
