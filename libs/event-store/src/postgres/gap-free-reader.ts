/**
 * Gap-free reading by global position.
 *
 * Positions come from a sequence, which is not transactional: a writer can commit position 10 while position 9 is
 * still in flight, or was taken by a transaction that rolled back and will never exist. A reader that delivered 10
 * and later saw 9 commit would have skipped an event for good. So a reader delivers only the contiguous prefix of
 * what it sees (each position = previous + 1) and stops at the first hole, until it can prove the hole permanent.
 *
 * The proof. Every writer takes its transaction id (`pg_current_xact_id()`) before it takes any position. Say a read
 * under snapshot S saw positions up to `highestSeen` and a hole below it. Whoever took a missing position p took it
 * before `highestSeen` was handed out, so before S, so its transaction id was assigned before S. Right after that
 * read the reader takes a fresh transaction id H (`pg_current_xact_id()` in its own statement): H is newer than every
 * id assigned before S. Later, a snapshot whose xmin is above H has no transaction with an id <= H still running:
 * the writer of p has finished; if it committed, p is visible in that snapshot. If p is still missing there, it never
 * will appear (rolled back, or taken by a statement that failed), and the reader may step over it.
 *
 * Why not compare with the xmax of S: xmax is only "latest completed id + 1"; a transaction that got its id after that
 * one, took the lower position and is still running is not covered by it (PostgreSQL even reports xmin = xmax with
 * such a transaction running). Only a freshly assigned id bounds everything assigned before the read.
 *
 * The proof holds for any missing position <= `highestSeen`, so one horizon serves every hole below it.
 */

/** A transaction id taken after a read that saw positions up to `coversUpTo`. */
export interface ReadHorizon {
  coversUpTo: bigint;
  xid: bigint;
}

export interface PositionWindow {
  /** Exclusive: the positions read are all greater than this. */
  after: bigint;
  /** Ascending positions read under one snapshot, each > `after`. */
  positions: readonly bigint[];
  /** `pg_snapshot_xmin` of that snapshot. */
  snapshotXmin: bigint;
}

export interface SafePrefix {
  /** Everything in (after, safeUpTo] that the window holds may be delivered; equals `after` when nothing may. */
  safeUpTo: bigint;
  /** Ranges of missing positions (inclusive) proven permanent and stepped over. */
  skipped: { from: bigint; to: bigint }[];
  /** The first hole that is not (yet) proven permanent. */
  blockedAt?: {
    position: bigint;
    /** The highest position of the window: a new horizon taken now would cover the hole up to here. */
    highestSeen: bigint;
    /** A horizon already covers this hole: wait for it, taking a newer one would only delay the proof. */
    covered: boolean;
  };
}

export function safePrefix(window: PositionWindow, horizon?: ReadHorizon): SafePrefix {
  let safeUpTo = window.after;
  const skipped: SafePrefix['skipped'] = [];
  for (const position of window.positions) {
    if (position <= safeUpTo) throw new Error(`Positions must ascend past ${safeUpTo}, got ${position}`);
    const missingUpTo = position - 1n;
    if (missingUpTo > safeUpTo) {
      const covered = horizon !== undefined && missingUpTo <= horizon.coversUpTo;
      if (!covered || window.snapshotXmin <= horizon.xid) {
        const highestSeen = window.positions[window.positions.length - 1] ?? position;
        return { safeUpTo, skipped, blockedAt: { position: safeUpTo + 1n, highestSeen, covered } };
      }
      skipped.push({ from: safeUpTo + 1n, to: missingUpTo });
    }
    safeUpTo = position;
  }
  return { safeUpTo, skipped };
}

/**
 * Keeps the horizon between reads (a subscription's, or one readAll call's) and says when a new one must be taken.
 */
export class GapTracker {
  private current?: ReadHorizon;

  get horizon(): ReadHorizon | undefined {
    return this.current;
  }

  evaluate(window: PositionWindow): SafePrefix {
    return safePrefix(window, this.current);
  }

  /** Records a transaction id taken after the read that saw positions up to `highestSeen`. */
  recordHorizon(highestSeen: bigint, xid: bigint): void {
    if (this.current && this.current.coversUpTo >= highestSeen) return;
    this.current = { coversUpTo: highestSeen, xid };
  }
}
