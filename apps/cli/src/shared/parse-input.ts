import type { z } from 'zod';
import { badInput } from './cli-failure.js';

/** Flags arrive as loose strings: the domain's request schema decides, and a failure names field and flag. */
export function parseInput<S extends z.ZodType>(
  schema: S,
  candidate: unknown,
  what: string,
  flagsByField: Record<string, string>,
): z.output<S> {
  const result = schema.safeParse(candidate);
  if (result.success) return result.data;
  throw badInput(
    what,
    result.error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message })),
    flagsByField,
  );
}

/** Numbers stay strings until the schema sees them, so `--exit-code abc` is reported by the schema, not lost. */
export const toNumber = (value: string | undefined): number | undefined =>
  value === undefined ? undefined : /^-?\d+$/.test(value.trim()) ? Number(value) : Number.NaN;

export const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** Drops keys whose value is undefined, so optional request fields are simply absent. */
export function defined<T extends Record<string, unknown>>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
