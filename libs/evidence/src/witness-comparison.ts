import { canonicalJson, parseSealedCheckpoint, type SealedCheckpoint } from '@audit-ledger/integrity';
import { readWitnessFile, type WitnessLine } from './witness-file.js';

/** A finding as the verifier reports it (kind `witness_mismatch`). */
export interface WitnessFinding {
  kind: 'witness_mismatch';
  position: string | null;
  range?: [string, string];
  message: string;
}

/** The newest tombstone, as the witness comparison needs it, and the archives' checkpoints when they were given. */
export interface WitnessCut {
  toPosition: bigint;
  lastCheckpointHash: string;
  /** The archives' checkpoints by toPosition (`ledger verify --archive`); undefined: no archive was given. */
  archived?: ReadonlyMap<string, SealedCheckpoint> | undefined;
}

/** Witness lines whose checkpoints end at or before the tombstone: checked, or covered by the archive unchecked. */
export interface WitnessArchivedCounts {
  checked: number;
  unchecked: number;
}

/**
 * Compares a witness file with the database's checkpoints, line by line in chain order. After `ledger archive drop`
 * the checkpoints up to the tombstone left the database: witness lines ending at or before the tombstone's last
 * position are checked apart (the line ending exactly there must carry the tombstone's lastCheckpointHash; earlier
 * ones are compared with the archives' checkpoints when archive files were given, else counted as covered by the
 * archive and not checked), and the lines after it are compared with the database's checkpoints after the tombstone.
 */
export class WitnessComparison {
  private readonly lines: AsyncGenerator<WitnessLine>;
  /** Lines read (every one, archived or not). */
  read = 0;
  readonly archived: WitnessArchivedCounts = { checked: 0, unchecked: 0 };
  private sawArchivedLine = false;
  private sawCutLine = false;
  private pastCut = false;

  constructor(
    file: string,
    private readonly cut: WitnessCut | undefined,
    private readonly report: (finding: WitnessFinding) => void,
  ) {
    this.lines = readWitnessFile(file);
  }

  /** Compares the database's next checkpoint (after the tombstone, if any) with the witness's next line. */
  async compare(checkpoint: SealedCheckpoint, at: string): Promise<void> {
    const witnessed = await this.next();
    if (!witnessed) return; // the witness may lag behind the database
    if ('error' in witnessed) {
      this.report({
        kind: 'witness_mismatch',
        position: checkpoint.fromPosition,
        message: `witness line ${witnessed.line} is ${witnessed.error}; the database has checkpoint ${checkpoint.checkpointHash} at position ${at}`,
      });
      return;
    }
    if (canonicalJson(witnessed.checkpoint) !== canonicalJson(checkpoint)) {
      this.report({
        kind: 'witness_mismatch',
        position: checkpoint.fromPosition,
        range: [checkpoint.fromPosition, checkpoint.toPosition],
        message:
          `checkpoint at position ${at} (range ${checkpoint.fromPosition}..${checkpoint.toPosition}, hash ${checkpoint.checkpointHash}) ` +
          `differs from witness line ${witnessed.line} (range ${witnessed.checkpoint.fromPosition}..${witnessed.checkpoint.toPosition}, hash ${witnessed.checkpoint.checkpointHash})`,
      });
    }
  }

  /** The lines left after the database's last checkpoint: checkpoints the database lost. */
  async drain(): Promise<void> {
    for (let witnessed = await this.next(); witnessed; witnessed = await this.next()) {
      const from = 'checkpoint' in witnessed ? witnessed.checkpoint.fromPosition : null;
      this.report({
        kind: 'witness_mismatch',
        position: from,
        message:
          'checkpoint' in witnessed
            ? `witness line ${witnessed.line} holds checkpoint ${witnessed.checkpoint.checkpointHash} (range ${from}..${witnessed.checkpoint.toPosition}) that the database does not have`
            : `witness line ${witnessed.line} is ${witnessed.error}`,
      });
    }
  }

  /** The next line after the tombstone; the lines at or before it are checked on the way. */
  private async next(): Promise<WitnessLine | undefined> {
    for (;;) {
      const line = await this.lines.next();
      if (line.done) return undefined;
      this.read += 1;
      const witnessed = line.value;
      if (!this.cut || this.pastCut) return witnessed;
      if ('error' in witnessed) {
        // Its place in the chain is unknown: reported alone, so the lines after it still pair with theirs.
        this.report({
          kind: 'witness_mismatch',
          position: null,
          message: `witness line ${witnessed.line} is ${witnessed.error}`,
        });
        continue;
      }
      if (BigInt(witnessed.checkpoint.toPosition) <= this.cut.toPosition) {
        this.checkArchived(witnessed.line, witnessed.checkpoint, this.cut);
        continue;
      }
      this.pastCut = true;
      if (this.sawArchivedLine && !this.sawCutLine) {
        this.report({
          kind: 'witness_mismatch',
          position: String(this.cut.toPosition),
          message: `the witness has no checkpoint ending at the tombstone's last position ${this.cut.toPosition} (line ${witnessed.line} starts at ${witnessed.checkpoint.fromPosition})`,
        });
      }
      return witnessed;
    }
  }

  private checkArchived(line: number, checkpoint: SealedCheckpoint, cut: WitnessCut): void {
    this.sawArchivedLine = true;
    const range: [string, string] = [checkpoint.fromPosition, checkpoint.toPosition];
    const atCut = BigInt(checkpoint.toPosition) === cut.toPosition;
    if (atCut) {
      this.sawCutLine = true;
      if (checkpoint.checkpointHash !== cut.lastCheckpointHash) {
        this.report({
          kind: 'witness_mismatch',
          position: checkpoint.fromPosition,
          range,
          message: `witness line ${line} holds checkpoint ${checkpoint.checkpointHash} ending at the tombstone's last position ${cut.toPosition}, but the tombstone's last checkpoint is ${cut.lastCheckpointHash}`,
        });
        return;
      }
    }
    if (!cut.archived) {
      if (atCut) this.archived.checked += 1;
      else this.archived.unchecked += 1;
      return;
    }
    const archived = cut.archived.get(checkpoint.toPosition);
    if (!archived || canonicalJson(archived) !== canonicalJson(checkpoint)) {
      this.report({
        kind: 'witness_mismatch',
        position: checkpoint.fromPosition,
        range,
        message: archived
          ? `witness line ${line} (range ${checkpoint.fromPosition}..${checkpoint.toPosition}, hash ${checkpoint.checkpointHash}) differs from the archives' checkpoint ${archived.checkpointHash} (range ${archived.fromPosition}..${archived.toPosition})`
          : `witness line ${line} holds checkpoint ${checkpoint.checkpointHash} (range ${checkpoint.fromPosition}..${checkpoint.toPosition}), which the archives do not have`,
      });
      return;
    }
    this.archived.checked += 1;
  }
}

/** The archives' checkpoints by toPosition, stripped to the sealed checkpoint's members (as a witness line holds). */
export function checkpointsByEnd(checkpoints: readonly unknown[]): Map<string, SealedCheckpoint> {
  const byEnd = new Map<string, SealedCheckpoint>();
  for (const value of checkpoints) {
    const checkpoint = parseSealedCheckpoint(value);
    if (checkpoint) byEnd.set(checkpoint.toPosition, checkpoint);
  }
  return byEnd;
}
