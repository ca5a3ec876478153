/** A piece of a command diff: text both have, only the executed command has, or only the approved one has. */
export interface DiffPart {
  text: string;
  kind: 'same' | 'added' | 'removed';
}

const tokens = (command: string) => command.match(/\s+|[^\s]+/g) ?? [];

/** Token diff (longest common subsequence of words) of an approved command and the command that ran. */
export function diffCommands(approved: string, executed: string): DiffPart[] {
  const a = tokens(approved);
  const b = tokens(executed);
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--)
    for (let j = b.length - 1; j >= 0; j--)
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const parts: DiffPart[] = [];
  const push = (text: string, kind: DiffPart['kind']) => {
    const last = parts[parts.length - 1];
    if (last && last.kind === kind) last.text += text;
    else parts.push({ text, kind });
  };
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      push(a[i]!, 'same');
      i++;
      j++;
    } else if (lcs[i + 1]![j]! >= lcs[i]![j + 1]!) push(a[i++]!, 'removed');
    else push(b[j++]!, 'added');
  }
  while (i < a.length) push(a[i++]!, 'removed');
  while (j < b.length) push(b[j++]!, 'added');
  return parts;
}

/** The approved command closest to what ran (most words in common), to diff against. */
export function closestApproved(approved: string[], executed: string): string | undefined {
  let best: string | undefined;
  let bestScore = -1;
  for (const candidate of approved) {
    const score = diffCommands(candidate, executed)
      .filter((part) => part.kind === 'same')
      .reduce((sum, part) => sum + part.text.trim().length, 0);
    if (score > bestScore) [best, bestScore] = [candidate, score];
  }
  return best;
}
