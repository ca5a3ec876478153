import { decodeCursor, MAX_PAGE_SIZE, type PageCursor } from '@audit-ledger/read-models';
import { z } from 'zod';
import { RequestValidationError, parseRequest } from '../shared/request-validation.js';

const text = z.string().trim().min(1).max(400);
const time = z.iso.datetime({ offset: true }).transform((value) => new Date(value));

/** Parameters every read takes: read-your-writes position. */
export const readParams = {
  minPosition: z
    .string()
    .regex(/^\d{1,19}$/, 'a global position (decimal digits)')
    .transform((value) => BigInt(value))
    .optional(),
};

/** Parameters of a paged list: page size, opaque cursor, order by time, time range. */
export const pageParams = {
  ...readParams,
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).optional(),
  cursor: z
    .string()
    .max(1000)
    .transform((value, ctx): PageCursor => {
      const cursor = decodeCursor(value);
      if (!cursor) {
        ctx.addIssue({ code: 'custom', message: 'not a cursor this API issued (pass nextCursor unchanged)' });
        return z.NEVER;
      }
      return cursor;
    })
    .optional(),
  order: z.enum(['asc', 'desc']).optional(),
  from: time.optional(),
  to: time.optional(),
  q: z.string().min(1).max(400).optional(),
};

export const filterText = text.optional();

const fromBeforeTo = (value: { from?: Date; to?: Date }) => !value.from || !value.to || value.from <= value.to;
const fromBeforeToIssue = { message: 'from is after to', path: ['to'] };

/** `.strict()` objects whose `from` may not be after `to`. */
export function queryObject<T extends z.ZodRawShape>(shape: T) {
  return z.strictObject(shape).refine(fromBeforeTo as (value: unknown) => boolean, fromBeforeToIssue);
}

/**
 * Query strings: a repeated parameter (`?a=1&a=2`) is refused, and an unknown one is reported under its own name
 * (zod would report it on the object), so every 400 names the field.
 */
export function parseQuery<S extends z.ZodType>(schema: S, known: readonly string[], query: unknown): z.output<S> {
  const record = (query ?? {}) as Record<string, unknown>;
  const issues = Object.entries(record).flatMap(([name, value]) =>
    !known.includes(name)
      ? [{ path: name, message: `unknown query parameter (known: ${known.join(', ')})` }]
      : Array.isArray(value)
        ? [{ path: name, message: 'given more than once' }]
        : [],
  );
  if (issues.length) throw new RequestValidationError(issues);
  return parseRequest(schema, record);
}
