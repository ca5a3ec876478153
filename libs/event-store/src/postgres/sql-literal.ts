/**
 * Values inlined into simple-protocol queries (which take no parameters), for the append transaction's multi-statement
 * messages. `sqlLiteral` returns exactly what pg's `escapeLiteral` returns (checked against it in sql-literal.spec.ts):
 * quotes doubled and, when the text holds a backslash, backslashes doubled inside an `E'…'` string, which reads the
 * same whatever `standard_conforming_strings` says. It uses native replaces because pg's character loop costs about
 * 0.8 ms for a 60 KB payload, ten times as much.
 */
export function sqlLiteral(value: string): string {
  // A query text is a C string on the wire: a NUL would cut it. Text columns cannot hold NUL either, so appends
  // carrying one are refused by validation before they reach a batch; this is the last line.
  if (value.includes('\u0000')) throw new RangeError('A NUL character cannot be sent inside a query text');
  const quoted = value.replaceAll("'", "''");
  return value.includes('\\') ? ` E'${quoted.replaceAll('\\', '\\\\')}'` : `'${quoted}'`;
}

/** `ARRAY[…]::<type>[]` of literals; `type` is one of ours, never input. */
export function sqlArray(values: readonly string[], type: 'text' | 'uuid'): string {
  return `ARRAY[${values.map(sqlLiteral).join(',')}]::${type}[]`;
}

/** A safe integer as an SQL numeric constant. */
export function sqlInteger(value: number): string {
  if (!Number.isSafeInteger(value)) throw new RangeError(`Not a safe integer: ${value}`);
  return String(value);
}
