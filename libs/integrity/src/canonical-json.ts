/**
 * RFC 8785 (JSON Canonicalization Scheme) serialisation.
 * Object members are sorted by UTF-16 code units (JavaScript's default string order), numbers use the
 * ECMAScript shortest round-trip form, strings use JSON.stringify's escaping: exactly what JCS prescribes.
 */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export class NotCanonicalisableError extends Error {
  readonly code = 'INTEGRITY.NOT_CANONICALISABLE';
}

export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new NotCanonicalisableError(`Cannot canonicalise number ${value}`);
      return JSON.stringify(value);
    case 'string':
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item ?? null)).join(',')}]`;
      if (value instanceof Date) return JSON.stringify(value.toISOString());
      const entries = Object.entries(value as Record<string, unknown>)
        .filter(([, member]) => member !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return `{${entries.map(([key, member]) => `${JSON.stringify(key)}:${canonicalJson(member)}`).join(',')}}`;
    }
    default:
      throw new NotCanonicalisableError(`Cannot canonicalise a value of type ${typeof value}`);
  }
}
