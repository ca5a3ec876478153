/**
 * An opaque keyset cursor: the sort key of the last row a page returned, `(time, tiebreaker)`. The time is the
 * column's exact text (microseconds, UTC) so no precision is lost in a round trip through JavaScript dates; the
 * tiebreaker is the row's global position (executions, mismatches) or its id (approvals).
 */
export interface PageCursor {
  time: string;
  key: string;
}

const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

export function encodeCursor(cursor: PageCursor): string {
  return Buffer.from(JSON.stringify([cursor.time, cursor.key]), 'utf8').toString('base64url');
}

/** The cursor, or undefined when the text is not one this API issued. */
export function decodeCursor(text: string): PageCursor | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (!Array.isArray(value) || value.length !== 2) return undefined;
    const [time, key] = value as unknown[];
    if (typeof time !== 'string' || !TIME.test(time) || typeof key !== 'string' || key.length === 0) return undefined;
    if (key.length > 400) return undefined;
    return { time, key };
  } catch {
    return undefined;
  }
}

/** SQL that renders a timestamptz column as the cursor's time text. */
export function cursorTimeSql(column: string): string {
  return `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}
