import fc from 'fast-check';
import { GapTracker, safePrefix } from './gap-free-reader.js';

const window = (after: number, positions: number[], snapshotXmin = 100) => ({
  after: BigInt(after),
  positions: positions.map(BigInt),
  snapshotXmin: BigInt(snapshotXmin),
});

describe('gap-free reader', () => {
  it('delivers a contiguous window whole', () => {
    // given positions 4..7 after 3, when the prefix is computed, then all of it is safe
    expect(safePrefix(window(3, [4, 5, 6, 7]))).toEqual({ safeUpTo: 7n, skipped: [] });
  });

  it('delivers nothing from an empty window', () => {
    expect(safePrefix(window(3, []))).toEqual({ safeUpTo: 3n, skipped: [] });
  });

  it('stops at the first hole when no horizon was taken yet', () => {
    // given 5 is missing, when read, then 4 is safe and the reader must take a horizon covering up to 8
    expect(safePrefix(window(3, [4, 6, 8]))).toEqual({
      safeUpTo: 4n,
      skipped: [],
      blockedAt: { position: 5n, highestSeen: 8n, covered: false },
    });
  });

  it('stops at a hole right after the start', () => {
    expect(safePrefix(window(3, [5])).blockedAt).toEqual({ position: 4n, highestSeen: 5n, covered: false });
  });

  it('waits at a covered hole while transactions up to the horizon may still run', () => {
    // given a horizon xid 50 covering up to 8, when the snapshot xmin is 50, then the hole still blocks
    const result = safePrefix(window(3, [4, 6], 50), { coversUpTo: 8n, xid: 50n });
    expect(result).toEqual({ safeUpTo: 4n, skipped: [], blockedAt: { position: 5n, highestSeen: 6n, covered: true } });
  });

  it('steps over every covered hole once the snapshot xmin is past the horizon', () => {
    // given holes 5 and 7..8 under a horizon xid 50, when xmin is 51, then both are skipped as permanent
    const result = safePrefix(window(3, [4, 6, 9, 10], 51), { coversUpTo: 9n, xid: 50n });
    expect(result).toEqual({
      safeUpTo: 10n,
      skipped: [
        { from: 5n, to: 5n },
        { from: 7n, to: 8n },
      ],
    });
  });

  it('does not step over a hole above what the horizon covers', () => {
    // given a horizon covering up to 6, when a hole appears at 9, then it blocks and asks for a new horizon
    const result = safePrefix(window(3, [4, 6, 7, 8, 10], 99), { coversUpTo: 6n, xid: 50n });
    expect(result.safeUpTo).toBe(8n);
    expect(result.blockedAt).toEqual({ position: 9n, highestSeen: 10n, covered: false });
  });

  it('keeps the horizon that covers more', () => {
    const tracker = new GapTracker();
    tracker.recordHorizon(10n, 40n);
    tracker.recordHorizon(8n, 45n);
    expect(tracker.horizon).toEqual({ coversUpTo: 10n, xid: 40n });
    tracker.recordHorizon(12n, 47n);
    expect(tracker.horizon).toEqual({ coversUpTo: 12n, xid: 47n });
  });

  it('never delivers past a position whose writer may still commit (property)', () => {
    // Model: positions 1..n are committed, in flight or rolled back. A writer in flight took its xid before the
    // horizon, so while one runs the snapshot xmin is at most the horizon xid.
    const state = fc.constantFrom('committed', 'in_flight', 'rolled_back');
    fc.assert(
      fc.property(fc.array(state, { minLength: 1, maxLength: 40 }), fc.boolean(), (states, horizonTaken) => {
        const committed = states.flatMap((s, i) => (s === 'committed' ? [BigInt(i + 1)] : []));
        const inFlight = states.flatMap((s, i) => (s === 'in_flight' ? [BigInt(i + 1)] : []));
        const horizonXid = 1000n;
        const snapshotXmin = inFlight.length > 0 ? horizonXid : horizonXid + 1n;
        const horizon = horizonTaken ? { coversUpTo: BigInt(states.length), xid: horizonXid } : undefined;
        const { safeUpTo } = safePrefix({ after: 0n, positions: committed, snapshotXmin }, horizon);
        const firstInFlight = inFlight[0];
        if (firstInFlight !== undefined) expect(safeUpTo).toBeLessThan(firstInFlight);
        if (horizonTaken && inFlight.length === 0) expect(safeUpTo).toBe(committed.at(-1) ?? 0n);
      }),
    );
  });
});
