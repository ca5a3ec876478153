/** src[start, end) into out at `at`; returns the end. Short runs byte by byte (Buffer#copy costs more per call). */
export function copyBytes(src: Uint8Array, start: number, end: number, out: Uint8Array, at: number): number {
  if (end - start > 96) {
    out.set(src.subarray(start, end), at);
    return at + end - start;
  }
  let w = at;
  for (let k = start; k < end; k++) out[w++] = src[k]!;
  return w;
}
