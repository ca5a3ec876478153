import fc from 'fast-check';
import { GrowingMap, GrowingSet } from './growing-collections.js';

/** Operations on some version: grow it, and keep the result as a new version (branching from old ones too). */
const operations = fc.array(
  fc.record({ from: fc.nat(), key: fc.integer({ min: 0, max: 20 }), value: fc.integer({ min: 0, max: 3 }) }),
  { maxLength: 80 },
);

describe('growing collections behave as immutable Sets and Maps', () => {
  it('given versions grown from any earlier version, then each version holds exactly what a copied Set would', () => {
    fc.assert(
      fc.property(operations, (ops) => {
        const versions: { grown: GrowingSet<number>; copied: Set<number> }[] = [
          { grown: GrowingSet.empty(), copied: new Set() },
        ];
        for (const { from, key } of ops) {
          const base = versions[from % versions.length]!;
          versions.push({ grown: base.grown.add(key), copied: new Set(base.copied).add(key) });
        }
        for (const { grown, copied } of versions) {
          expect([...grown]).toEqual([...copied]);
          expect(grown.size).toBe(copied.size);
          for (let key = 0; key <= 20; key++) expect(grown.has(key)).toBe(copied.has(key));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('given versions grown from any earlier version, then each version holds exactly what a copied Map would', () => {
    fc.assert(
      fc.property(operations, (ops) => {
        const versions: { grown: GrowingMap<number, number>; copied: Map<number, number> }[] = [
          { grown: GrowingMap.empty(), copied: new Map() },
        ];
        for (const { from, key, value } of ops) {
          const base = versions[from % versions.length]!;
          versions.push({ grown: base.grown.set(key, value), copied: new Map(base.copied).set(key, value) });
        }
        for (const { grown, copied } of versions) {
          expect([...grown]).toEqual([...copied]);
          expect(grown.size).toBe(copied.size);
          for (let key = 0; key <= 20; key++) {
            expect([grown.has(key), grown.get(key)]).toEqual([copied.has(key), copied.get(key)]);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('compares by contents: versions with the same entries are equal whatever storage they share', () => {
    const shared = GrowingSet.empty<string>().add('a');
    const tip = shared.add('b');
    const branch = shared.add('c'); // shared is no longer the newest version: this one copies
    expect(GrowingSet.of(['a', 'c'])).toEqual(branch);
    expect(GrowingSet.of(['a', 'b'])).toEqual(tip);
    expect(tip).not.toEqual(branch);
  });
});
