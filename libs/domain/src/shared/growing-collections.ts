/**
 * Immutable sets and maps for state that a fold grows one event at a time. Copying a Set or Map per event keeps a
 * decider pure but makes folding a stream quadratic in its length; these share their storage with the version they
 * were grown from instead. Every version sees exactly what was added up to it: growing the newest version costs
 * O(1); growing an older one (a branch) copies what that version sees first, so no version ever changes.
 */

/** What a set and the sets grown from it hold: each value once, with the order it was added in. */
interface SetStorage<T> {
  readonly order: Map<T, number>;
  length: number;
}

export class GrowingSet<T> implements Iterable<T> {
  readonly #storage: SetStorage<T>;
  readonly #count: number;

  private constructor(storage: SetStorage<T>, count: number) {
    this.#storage = storage;
    this.#count = count;
  }

  static empty<T>(): GrowingSet<T> {
    return new GrowingSet<T>({ order: new Map(), length: 0 }, 0);
  }

  static of<T>(values: Iterable<T>): GrowingSet<T> {
    let set = GrowingSet.empty<T>();
    for (const value of values) set = set.add(value);
    return set;
  }

  get size(): number {
    return this.#count;
  }

  has(value: T): boolean {
    const at = this.#storage.order.get(value);
    return at !== undefined && at < this.#count;
  }

  /** This set with `value` added (this one is unchanged). */
  add(value: T): GrowingSet<T> {
    if (this.has(value)) return this;
    if (this.#count !== this.#storage.length) return GrowingSet.of(this).add(value);
    this.#storage.order.set(value, this.#count);
    this.#storage.length += 1;
    return new GrowingSet(this.#storage, this.#count + 1);
  }

  *[Symbol.iterator](): Iterator<T> {
    for (const [value, at] of this.#storage.order) {
      if (at >= this.#count) return; // added in order: the rest came later
      yield value;
    }
  }
}

/** What a map and the maps grown from it hold: every write of each key, in order, numbered across all keys. */
interface MapStorage<K, V> {
  readonly writes: Map<K, { at: number; value: V }[]>;
  length: number;
}

export class GrowingMap<K, V> implements Iterable<[K, V]> {
  readonly #storage: MapStorage<K, V>;
  /** Writes this version sees (those numbered below it). */
  readonly #count: number;
  readonly #size: number;

  private constructor(storage: MapStorage<K, V>, count: number, size: number) {
    this.#storage = storage;
    this.#count = count;
    this.#size = size;
  }

  static empty<K, V>(): GrowingMap<K, V> {
    return new GrowingMap<K, V>({ writes: new Map(), length: 0 }, 0, 0);
  }

  static of<K, V>(entries: Iterable<[K, V]>): GrowingMap<K, V> {
    let map = GrowingMap.empty<K, V>();
    for (const [key, value] of entries) map = map.set(key, value);
    return map;
  }

  get size(): number {
    return this.#size;
  }

  get(key: K): V | undefined {
    return this.#latest(key)?.value;
  }

  has(key: K): boolean {
    return this.#latest(key) !== undefined;
  }

  /** This map with `key` set to `value` (this one is unchanged). */
  set(key: K, value: V): GrowingMap<K, V> {
    if (this.#count !== this.#storage.length) return GrowingMap.of(this).set(key, value);
    const seen = this.has(key);
    const writes = this.#storage.writes.get(key);
    const write = { at: this.#count, value };
    if (writes) writes.push(write);
    else this.#storage.writes.set(key, [write]);
    this.#storage.length += 1;
    return new GrowingMap(this.#storage, this.#count + 1, seen ? this.#size : this.#size + 1);
  }

  *[Symbol.iterator](): Iterator<[K, V]> {
    for (const [key, writes] of this.#storage.writes) {
      if (writes[0]!.at >= this.#count) return; // keys appear in the order of their first write
      yield [key, this.#latest(key)!.value];
    }
  }

  #latest(key: K): { at: number; value: V } | undefined {
    const writes = this.#storage.writes.get(key);
    if (!writes) return undefined;
    for (let i = writes.length - 1; i >= 0; i--) if (writes[i]!.at < this.#count) return writes[i];
    return undefined;
  }
}
