import { GENESIS_HASH } from '@audit-ledger/integrity';

/** A hash link that does not hold: the successor's prevHash is not its predecessor's hash. */
export interface BrokenLink {
  streamId: string;
  /** The successor's revision and position, the prevHash it holds and the predecessor's hash. */
  revision: number;
  position: string;
  prevHash: string;
  expectedPrev: string;
  /** The predecessor's position (the successor's own when it has none: a revision 0 that does not link to genesis). */
  previousPosition: string;
}

/** What the events before a window say about a stream that starts in it at a revision above 0. */
export type EventBefore = (
  streamId: string,
  revision: number,
) => Promise<{ position: number; hash: string } | 'accept' | undefined>;

interface StreamHead {
  next: number;
  hash: string;
  /** −1: no event yet. */
  position: number;
}

/** A stream whose revisions did not arrive in global order as 0, 1, 2, …: the stream pass checks it instead. */
const IRREGULAR = null;

/**
 * Hash links checked in global order, in the same pass that re-hashes every event. The store appends to a stream at the
 * next revision and a higher global position (design.md §4), so in global order an untampered stream shows its
 * revisions as 0, 1, 2, …: each event is checked against its stream's head (next revision, last hash), one map entry
 * per stream. Where that holds, this is exactly the check the (stream, revision)-ordered pass would make. A stream
 * whose revisions arrive otherwise (deleted, reordered, duplicated, starting above 0) is marked irregular and left to
 * the stream pass, run afterwards for those streams only, which names what is wrong as before; its broken links found
 * here are dropped. Past `maxStreams` streams the map is dropped (memory bound) and the caller runs the full stream
 * pass.
 */
export class StreamLinks {
  private readonly heads = new Map<string, StreamHead | typeof IRREGULAR>();
  private readonly irregularStreams: string[] = [];
  private broken: BrokenLink[] = [];
  private overflowed_ = false;
  private events_ = 0;

  constructor(
    private readonly maxStreams: number,
    /** Set when the scan starts after position 1: links the first event of a stream seen mid-way to its predecessor. */
    private readonly eventBefore?: EventBefore,
  ) {}

  get events(): number {
    return this.events_;
  }

  get streams(): number {
    return this.heads.size;
  }

  /** True when more than `maxStreams` streams were seen: nothing here counts, run the full stream pass. */
  get overflowed(): boolean {
    return this.overflowed_;
  }

  /** Streams to check with the stream pass. */
  get irregular(): readonly string[] {
    return this.irregularStreams;
  }

  /** Broken links in streams that are not irregular. */
  brokenLinks(): BrokenLink[] {
    const irregular = new Set(this.irregularStreams);
    return this.broken.filter((link) => !irregular.has(link.streamId));
  }

  /** The next event in global order. */
  add(position: number, streamId: string, revision: number, prevHash: string, hash: string): void | Promise<void> {
    this.events_ += 1;
    if (this.overflowed_) return;
    const head = this.heads.get(streamId);
    if (head === IRREGULAR) return;
    if (head !== undefined) return this.link(head, position, streamId, revision, prevHash, hash);
    if (this.heads.size >= this.maxStreams) {
      this.overflowed_ = true;
      this.heads.clear();
      this.broken = [];
      this.irregularStreams.length = 0;
      return;
    }
    const first: StreamHead = { next: 0, hash: GENESIS_HASH, position: -1 };
    this.heads.set(streamId, first);
    if (revision > 0 && this.eventBefore) {
      return this.eventBefore(streamId, revision).then((before) => {
        if (before === 'accept') {
          // Its predecessor was archived and dropped, and no archive was given: the link cannot be checked.
          first.next = revision;
          first.hash = prevHash;
        } else if (before) {
          first.next = revision;
          first.hash = before.hash;
          first.position = before.position;
        }
        this.link(first, position, streamId, revision, prevHash, hash);
      });
    }
    this.link(first, position, streamId, revision, prevHash, hash);
  }

  private link(
    head: StreamHead,
    position: number,
    streamId: string,
    revision: number,
    prevHash: string,
    hash: string,
  ): void {
    if (revision !== head.next) {
      this.heads.set(streamId, IRREGULAR);
      this.irregularStreams.push(streamId);
      return;
    }
    if (prevHash !== head.hash) {
      this.broken.push({
        streamId,
        revision,
        position: String(position),
        prevHash,
        expectedPrev: head.hash,
        previousPosition: String(head.position < 0 ? position : head.position),
      });
    }
    head.next = revision + 1;
    head.hash = hash;
    head.position = position;
  }
}
