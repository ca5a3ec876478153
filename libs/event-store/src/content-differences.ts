/**
 * The field paths (`a.b`, `list[2]`) where two JSON values differ. A key holding `undefined` counts as absent.
 * Paths in `presenceOnly` (and everything below them) are compared on presence alone: values the ledger derives when
 * it receives a command (a capped output, an HMAC whose key may have rotated) must not turn a genuine retry into a
 * conflict.
 */
export function contentDifferences(stored: unknown, proposed: unknown, presenceOnly: readonly string[] = []): string[] {
  const differences: string[] = [];
  const ignored = new Set(presenceOnly);
  compare(stored, proposed, '', ignored, differences);
  return differences;
}

function compare(a: unknown, b: unknown, path: string, ignored: ReadonlySet<string>, out: string[]): void {
  if (path !== '' && ignored.has(path)) return;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) {
      out.push(path === '' ? '(length)' : path);
      return;
    }
    a.forEach((item, index) => compare(item, b[index], `${path}[${index}]`, ignored, out));
    return;
  }
  if (isObject(a) && isObject(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const key of [...keys].sort()) {
      const child = path === '' ? key : `${path}.${key}`;
      const left = a[key];
      const right = b[key];
      if (left === undefined && right === undefined) continue;
      if (left === undefined || right === undefined) {
        out.push(child);
        continue;
      }
      compare(left, right, child, ignored, out);
    }
    return;
  }
  // JSON equality: -0 and 0 serialise alike.
  if (JSON.stringify(a) !== JSON.stringify(b)) out.push(path || '(value)');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
