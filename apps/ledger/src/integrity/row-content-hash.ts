import { CanonicalJsonWriter, chainHashOfBytes } from '@audit-ledger/integrity';

/**
 * The event columns the verifier reads with binary COPY (copy-rows.ts), and the check of one row's content against
 * its stored hash. Shared by the verifier's main thread and its content-check worker.
 */
export const EVENT_COLUMNS =
  'global_position, event_id::text, stream_id, stream_revision, type, data, metadata, prev_hash, hash';
export const EVENT_FIELDS = 9;
const JSONB_VERSION = 1;

/** A bigint field that holds a safe integer (positions, revisions), as a number. */
export function int64(row: Buffer, at: number): number {
  return row.readInt32BE(at) * 2 ** 32 + row.readUInt32BE(at + 4);
}

/** Recomputes a row's event hash (RFC 8785 straight from the stored bytes) and compares it with the stored one. */
export class RowContentHash {
  private readonly writer = new CanonicalJsonWriter();
  /** prevHash, eventId, streamId, type, data, metadata: [start, end) each. */
  private readonly parts = new Int32Array(12);

  /** True when the EVENT_COLUMNS row's content hashes to its stored hash. */
  matches(row: Buffer, fields: Int32Array): boolean {
    const parts = this.parts;
    parts[0] = fields[14]!;
    parts[1] = fields[15]!;
    parts[2] = fields[2]!;
    parts[3] = fields[3]!;
    parts[4] = fields[4]!;
    parts[5] = fields[5]!;
    parts[6] = fields[8]!;
    parts[7] = fields[9]!;
    parts[8] = fields[10]! + 1;
    parts[9] = fields[11]!;
    parts[10] = fields[12]! + 1;
    parts[11] = fields[13]!;
    if (row[fields[10]!] !== JSONB_VERSION || row[fields[12]!] !== JSONB_VERSION) return false;
    try {
      const hash = chainHashOfBytes(this.writer, row, parts, int64(row, fields[6]!));
      return hash === row.toString('latin1', fields[16]!, fields[17]!);
    } catch {
      return false; // not JSON: does not match
    }
  }
}
