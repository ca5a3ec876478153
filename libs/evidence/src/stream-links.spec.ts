import { GENESIS_HASH } from '@audit-ledger/integrity';
import { StreamLinks } from './stream-links.js';

const h = (n: number) => n.toString(16).padStart(64, '0');

/** Events of one stream as the store appends them: revision r links to r − 1 (hash h(base + r)). */
function chain(base: number, count: number) {
  return Array.from({ length: count }, (_, r) => ({
    revision: r,
    prev: r === 0 ? GENESIS_HASH : h(base + r - 1),
    hash: h(base + r),
  }));
}

describe('StreamLinks: hash links checked in global order', () => {
  it('given interleaved intact streams, when added in global order, then nothing is broken or irregular', () => {
    const links = new StreamLinks(10);
    const [a, b] = [chain(100, 5), chain(200, 5)];
    let position = 1;
    for (let r = 0; r < 5; r++) {
      void links.add(position++, 'a', a[r]!.revision, a[r]!.prev, a[r]!.hash);
      void links.add(position++, 'b', b[r]!.revision, b[r]!.prev, b[r]!.hash);
    }
    expect([links.events, links.streams, links.brokenLinks(), links.irregular, links.overflowed]).toEqual([
      10,
      2,
      [],
      [],
      false,
    ]);
  });

  it('given a successor that links to another hash, then the replaced predecessor is named', () => {
    const links = new StreamLinks(10);
    const a = chain(100, 3);
    void links.add(1, 'a', 0, a[0]!.prev, h(999)); // revision 0 replaced and re-hashed
    void links.add(2, 'a', 1, a[1]!.prev, a[1]!.hash);
    void links.add(3, 'a', 2, a[2]!.prev, a[2]!.hash);
    expect(links.brokenLinks()).toEqual([
      { streamId: 'a', revision: 1, position: '2', prevHash: h(100), expectedPrev: h(999), previousPosition: '1' },
    ]);
  });

  it('given revisions out of order (swapped, skipped or starting above 0), then only those streams are irregular', () => {
    const links = new StreamLinks(10);
    const [a, b, c, d] = [chain(100, 2), chain(200, 3), chain(300, 2), chain(400, 2)];
    void links.add(1, 'a', 1, a[1]!.prev, a[1]!.hash); // swapped with revision 0
    void links.add(2, 'a', 0, a[0]!.prev, h(777)); // (and a broken link, left to the stream pass)
    void links.add(3, 'b', 0, b[0]!.prev, b[0]!.hash);
    void links.add(4, 'b', 2, b[2]!.prev, b[2]!.hash); // revision 1 deleted
    void links.add(5, 'c', 1, c[1]!.prev, c[1]!.hash); // starts at 1
    void links.add(6, 'd', 0, d[0]!.prev, d[0]!.hash);
    void links.add(7, 'd', 1, d[1]!.prev, d[1]!.hash);
    expect(links.irregular).toEqual(['a', 'b', 'c']);
    expect(links.brokenLinks()).toEqual([]);
    expect(links.streams).toBe(4);
  });

  it('given more streams than the bound, then it gives up (the caller reads every stream in stream order)', () => {
    const links = new StreamLinks(3);
    for (let s = 0; s < 4; s++) void links.add(s + 1, `s${s}`, 0, GENESIS_HASH, h(s));
    expect(links.overflowed).toBe(true);
    expect(links.streams).toBe(0); // the map is dropped: memory stays bounded
    expect(links.events).toBe(4);
  });

  it('given a window that starts mid-stream, then the first event links to the one before the window', async () => {
    const a = chain(100, 4);
    const links = new StreamLinks(10, (streamId, revision) =>
      Promise.resolve(streamId === 'a' && revision === 2 ? { position: 7, hash: h(999) } : undefined),
    );
    await links.add(20, 'a', 2, a[2]!.prev, a[2]!.hash); // links to h(101), the event before holds h(999)
    await links.add(21, 'a', 3, a[3]!.prev, a[3]!.hash);
    expect(links.brokenLinks()).toEqual([
      { streamId: 'a', revision: 2, position: '20', prevHash: h(101), expectedPrev: h(999), previousPosition: '7' },
    ]);
    expect(links.irregular).toEqual([]);
  });
});
