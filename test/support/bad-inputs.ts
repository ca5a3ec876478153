import fc from 'fast-check';

/** The little of a JSON Schema (zod's or the OpenAPI document's) the generators read. */
export interface BodySchema {
  properties?: Record<string, { type?: string | string[]; enum?: unknown[]; anyOf?: unknown[]; oneOf?: unknown[] }>;
  required?: string[];
}

/** A generated bad payload: a JSON value (the transport serialises it) or raw text (HTTP only). */
export type BadPayload =
  { kind: 'value'; value: unknown; defect: string } | { kind: 'text'; text: string; defect: string };

const loneSurrogate = fc.oneof(
  fc.integer({ min: 0xd800, max: 0xdbff }).map((unit) => String.fromCharCode(unit)),
  fc.integer({ min: 0xdc00, max: 0xdfff }).map((unit) => String.fromCharCode(unit)),
);
/** A string JSON storage cannot hold: a lone surrogate or a NUL somewhere in otherwise ordinary text. */
export const poisonString = fc
  .tuple(fc.string({ maxLength: 20 }), fc.oneof(loneSurrogate, fc.constant('\u0000')), fc.string({ maxLength: 20 }))
  .map(([before, poison, after]) => `${before}${poison}${after}`);
/** Integers beyond ±(2^53−1): never exact. */
const hugeInteger = fc.oneof(
  fc.bigInt({ min: 2n ** 53n, max: 2n ** 80n }),
  fc.bigInt({ min: -(2n ** 80n), max: -(2n ** 53n) }),
);

const FUZZ_EXTRA = /^[a-z][a-zA-Z]{0,12}$/;

/**
 * Payloads that are wrong whatever the schema makes of them, derived from a valid one and its JSON Schema: a value
 * that is not an object, a poisoned string in a member or a member name, a huge integer, an unknown member (the
 * request schemas are strict), a required member missing, a member of the wrong type. With `text`, also JSON text
 * that is malformed or holds what `JSON.stringify` never writes (a lone-surrogate escape, a huge integer, -0).
 */
export function badPayloads(
  valid: Record<string, unknown>,
  schema: BodySchema,
  text: boolean,
): fc.Arbitrary<BadPayload> {
  const members = Object.keys(valid);
  const known = new Set([...members, ...Object.keys(schema.properties ?? {})]);
  const required = (schema.required ?? []).filter((name) => members.includes(name));
  const typed = Object.entries(schema.properties ?? {}).filter(([name, p]) => members.includes(name) && singleType(p));
  const value = (v: unknown, defect: string): BadPayload => ({ kind: 'value', value: v, defect });

  const families: fc.Arbitrary<BadPayload>[] = [
    fc
      .oneof(fc.integer(), fc.string(), fc.boolean(), fc.constant(null), fc.array(fc.jsonValue(), { maxLength: 3 }))
      .map((v) => value(v, 'not an object')),
    fc
      .tuple(fc.array(fc.constantFrom(...members, ''), { maxLength: 2 }), poisonString)
      .map(([path, poison]) => value(nest(valid, path, { [poison]: 1 }), 'poisoned member name')),
    fc
      .tuple(
        fc.string({ minLength: 1, maxLength: 13 }).filter((n) => FUZZ_EXTRA.test(n) && !known.has(n)),
        fc.jsonValue(),
      )
      .map(([name, v]) => value({ ...valid, [name]: v ?? 1 }, `unknown member ${name}`)),
  ];
  if (members.length > 0) {
    const member = fc.constantFrom(...members);
    families.push(
      fc.tuple(member, poisonString).map(([name, poison]) => value({ ...valid, [name]: poison }, `poisoned ${name}`)),
      fc
        .tuple(member, poisonString)
        .map(([name, poison]) => value({ ...valid, [name]: [valid[name], poison] }, `poison inside ${name}`)),
    );
  }
  if (required.length > 0) {
    families.push(
      fc.subarray(required, { minLength: 1 }).map((gone) => {
        const copy = { ...valid };
        for (const name of gone) delete copy[name];
        return value(copy, `missing ${gone.join(', ')}`);
      }),
    );
  }
  if (typed.length > 0) {
    families.push(
      fc
        .tuple(fc.constantFrom(...typed), fc.nat())
        .map(([[name, property], pick]) =>
          value({ ...valid, [name]: wrongType(property, pick) }, `wrong type ${name}`),
        ),
    );
  }
  if (text) {
    const json = JSON.stringify(valid);
    const member = fc.constantFrom(...(members.length > 0 ? members : ['fuzzMember']));
    families.push(
      fc
        .nat({ max: json.length - 1 })
        .map((cut): BadPayload => ({ kind: 'text', text: json.slice(0, cut), defect: 'truncated JSON' })),
      fc
        .tuple(fc.nat({ max: json.length }), fc.constantFrom('}', ',', ']', '"', '\\', 'x', '{{', '\u0000', '\n]'))
        .map(([at, junk]): BadPayload => ({
          kind: 'text',
          text: json.slice(0, at) + junk + json.slice(at),
          defect: 'malformed JSON',
        }))
        .filter((payload) => payload.kind === 'text' && !parses(payload.text)),
      fc.tuple(member, fc.integer({ min: 0xd800, max: 0xdfff })).map(([name, unit]) => ({
        kind: 'text',
        text: JSON.stringify({ ...valid, [name]: `x${name}` }).replace(`"x${name}"`, `"\\u${unit.toString(16)}"`),
        defect: `lone-surrogate escape in ${name}`,
      })),
      fc.tuple(member, hugeInteger).map(([name, n]): BadPayload => ({
        kind: 'text',
        text: JSON.stringify({ ...valid, [name]: 0 }).replace(`"${name}":0`, `"${name}":${n.toString()}`),
        defect: `huge integer in ${name}`,
      })),
      member.map((name): BadPayload => ({
        kind: 'text',
        text: JSON.stringify({ ...valid, [name]: 0 }).replace(`"${name}":0`, `"${name}":-0`),
        defect: `-0 in ${name}`,
      })),
    );
  }
  return fc.oneof(...families);
}

function singleType(property: NonNullable<BodySchema['properties']>[string]): boolean {
  if (property.anyOf || property.oneOf) return false;
  if (property.enum) return property.enum.every((v) => typeof v === 'string');
  return typeof property.type === 'string';
}

/** A value of another JSON type than `property` allows. */
function wrongType(property: NonNullable<BodySchema['properties']>[string], pick: number): unknown {
  const type = property.enum ? 'string' : (property.type as string);
  const candidates: Record<string, unknown[]> = {
    string: [12345, { not: 'a string' }, [1, 2], true],
    integer: ['12', { n: 1 }, [1], false, 1.5],
    number: ['1.5', { n: 1 }, [1], true],
    boolean: ['true', 1, {}, []],
    array: ['x', 7, { length: 1 }],
    object: ['x', 7, [1, 2], true],
  };
  const options = candidates[type] ?? [Symbol.for('unreachable')];
  return options[pick % options.length];
}

/** `valid` with `leaf` merged at the end of `path` (members that are objects), or at the top. */
function nest(valid: Record<string, unknown>, path: string[], leaf: Record<string, unknown>): Record<string, unknown> {
  const [head, ...rest] = path;
  if (head === undefined) return { ...valid, ...leaf };
  const inner = valid[head];
  if (typeof inner !== 'object' || inner === null || Array.isArray(inner)) return { ...valid, ...leaf };
  return { ...valid, [head]: nest(inner as Record<string, unknown>, rest, leaf) };
}

/** Whether `text` is JSON at all. */
export function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** Runs `task` over `items` with at most `concurrency` at a time; returns the results in order. */
export async function inPool<T, R>(
  items: readonly T[],
  concurrency: number,
  task: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await task(items[index]!);
      }
    }),
  );
  return results;
}

/** Forces a full garbage collection (exposing `gc` on the fly), so memory can be compared before and after. */
export async function collectGarbage(): Promise<void> {
  const v8 = await import('node:v8');
  const vm = await import('node:vm');
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
}
