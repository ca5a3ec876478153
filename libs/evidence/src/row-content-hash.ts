import { CanonicalJsonWriter, chainHashOfBytes } from '@audit-ledger/integrity';

/**
 * The event columns the verifier reads with binary COPY (copy-rows.ts), and the check of one row's content against
 * its stored hash. Shared by the verifier's main thread and its content-check worker.
 */
export const EVENT_COLUMNS =
  'global_position, event_id::text, stream_id, stream_revision, type, data::text, metadata::text, prev_hash, hash';
export const EVENT_FIELDS = 9;

/** A bigint field that holds a safe integer (positions, revisions), as a number. */
export function int64(row: Buffer, at: number): number {
  return row.readInt32BE(at) * 2 ** 32 + row.readUInt32BE(at + 4);
}

/**
 * Recomputes a row's event hash and compares it with the stored one. Payloads are stored as their canonical text
 * (event-store migration 2), so they are hashed as they come; when that does not match (an event written before,
 * stored as jsonb's rendering, or an edited one) they are canonicalised straight from the bytes (RFC 8785) and hashed
 * again: a match either way is a match of the hash the ledger wrote over the canonical event.
 */
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
    parts[8] = fields[10]!;
    parts[9] = fields[11]!;
    parts[10] = fields[12]!;
    parts[11] = fields[13]!;
    const revision = int64(row, fields[6]!);
    const stored = row.toString('latin1', fields[16]!, fields[17]!);
    if (chainHashOfBytes(this.writer, row, parts, revision, 'as-stored') === stored) return true;
    try {
      return chainHashOfBytes(this.writer, row, parts, revision) === stored;
    } catch {
      return false; // not JSON: does not match
    }
  }
}
