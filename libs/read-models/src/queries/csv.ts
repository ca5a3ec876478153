/**
 * RFC 4180 CSV: a field is quoted when it holds a comma, a double quote, CR or LF (or starts/ends with a space, so
 * spreadsheet tools keep it); quotes inside are doubled. Records end with CRLF. `null`/`undefined` is an empty field.
 */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text =
    value instanceof Date ? value.toISOString() : typeof value === 'object' ? JSON.stringify(value) : String(value);
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvRecord(values: readonly unknown[]): string {
  return `${values.map(csvField).join(',')}\r\n`;
}
