/**
 * A pure function of a text, remembered for the last `capacity` distinct texts. For what the reconciler derives from
 * an approval (its instruction, its approved commands): the same few texts come back for every execution under it.
 * Results must be immutable (they are shared between callers).
 */
export function memoByText<T>(compute: (text: string) => T, capacity = 2048): (text: string) => T {
  const known = new Map<string, T>();
  return (text) => {
    const hit = known.get(text);
    if (hit !== undefined || known.has(text)) return hit as T;
    const value = compute(text);
    if (known.size >= capacity) known.delete(known.keys().next().value as string);
    known.set(text, value);
    return value;
  };
}
