import { csvRecord } from '@audit-ledger/read-models';
import { StreamableFile } from '@nestjs/common';
import { Readable } from 'node:stream';
import { z } from 'zod';

const EXPORT_FORMATS = {
  csv: { type: 'text/csv; charset=utf-8', extension: 'csv' },
  json: { type: 'application/json; charset=utf-8', extension: 'json' },
  jsonl: { type: 'application/x-ndjson; charset=utf-8', extension: 'jsonl' },
} as const;

export type ExportFormat = keyof typeof EXPORT_FORMATS;

export const exportFormat = z.enum(['csv', 'json', 'jsonl']);

/** Chunks of about this many characters leave the server: few writes, memory flat. */
const CHUNK_CHARS = 64 * 1024;

/** How a list's rows become CSV: the header, and each row's fields in its order. */
export interface CsvShape<T> {
  columns: readonly string[];
  fields: (row: T) => readonly unknown[];
}

/**
 * Every row of `rows`, streamed as an attachment `<name>-<time>.<ext>`: CSV (RFC 4180, header first), a JSON array or
 * JSON lines, in chunks, so memory stays flat however many rows there are.
 */
export function exportFile<T>(name: string, format: ExportFormat, rows: AsyncIterable<T>, csv: CsvShape<T>) {
  const { type, extension } = EXPORT_FORMATS[format];
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  return new StreamableFile(Readable.from(chunked(exportLines(rows, format, csv))), {
    type,
    disposition: `attachment; filename="${name}-${stamp}.${extension}"`,
  });
}

async function* exportLines<T>(rows: AsyncIterable<T>, format: ExportFormat, csv: CsvShape<T>): AsyncGenerator<string> {
  if (format === 'csv') {
    yield csvRecord(csv.columns);
    for await (const row of rows) yield csvRecord(csv.fields(row));
    return;
  }
  if (format === 'jsonl') {
    for await (const row of rows) yield `${JSON.stringify(row)}\n`;
    return;
  }
  let first = true;
  yield '[';
  for await (const row of rows) {
    yield `${first ? '\n' : ',\n'}${JSON.stringify(row)}`;
    first = false;
  }
  yield '\n]\n';
}

async function* chunked(lines: AsyncIterable<string>): AsyncGenerator<string> {
  let buffer = '';
  for await (const line of lines) {
    buffer += line;
    if (buffer.length >= CHUNK_CHARS) {
      yield buffer;
      buffer = '';
    }
  }
  if (buffer) yield buffer;
}
