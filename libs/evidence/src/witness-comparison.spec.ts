import { canonicalJson, type SealedCheckpoint } from '@audit-ledger/integrity';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WitnessComparison, type WitnessFinding } from './witness-comparison.js';

const hash = (n: number) => n.toString(16).padStart(64, '0');
/** Checkpoint n covers positions 100n+1..100(n+1); the fields' values only need to be well formed here. */
const checkpoint = (n: number): SealedCheckpoint => ({
  fromPosition: String(100 * n + 1),
  toPosition: String(100 * (n + 1)),
  count: 100,
  merkleRoot: hash(1000 + n),
  previousCheckpointHash: hash(n),
  keyId: 'k1',
  sealedAt: '2026-01-01T00:00:00.000Z',
  absent: [],
  checkpointHash: hash(n + 1),
  signature: 'c2ln',
});
const chain = [0, 1, 2, 3, 4].map(checkpoint);
/** The tombstone after checkpoint 2 (positions 1..300 dropped). */
const cut = { toPosition: 300n, lastCheckpointHash: chain[2]!.checkpointHash };
const archived = new Map(chain.slice(0, 3).map((c) => [c.toPosition, c]));

describe('WitnessComparison across a tombstone', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'witness-comparison-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Compares a witness file holding `lines` with the database's checkpoints after the tombstone (3 and 4). */
  const run = async (lines: string[], archives?: Map<string, SealedCheckpoint>) => {
    const file = join(dir, `witness-${Math.random()}.jsonl`);
    writeFileSync(file, lines.map((line) => `${line}\n`).join(''));
    const findings: WitnessFinding[] = [];
    const comparison = new WitnessComparison(file, { ...cut, archived: archives }, (f) => findings.push(f));
    for (const c of chain.slice(3)) await comparison.compare(c, String(BigInt(c.toPosition) + 1n));
    await comparison.drain();
    return { findings, comparison };
  };
  const text = (c: SealedCheckpoint) => canonicalJson(c);

  it('counts the lines before the tombstone as not checked without archives, checked with them', async () => {
    const without = await run(chain.map(text));
    expect(without.findings).toEqual([]);
    expect(without.comparison.archived).toEqual({ checked: 1, unchecked: 2 });
    expect(without.comparison.read).toBe(5);
    const withArchives = await run(chain.map(text), archived);
    expect(withArchives.findings).toEqual([]);
    expect(withArchives.comparison.archived).toEqual({ checked: 3, unchecked: 0 });
  });

  it('catches an edited line before the tombstone only with the archives', async () => {
    const edited = chain.map((c, i) => text(i === 0 ? { ...c, count: 99 } : c));
    expect((await run(edited)).findings).toEqual([]);
    const { findings } = await run(edited, archived);
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ kind: 'witness_mismatch', position: '1' });
    expect(findings[0]!.message).toContain('witness line 1 (range 1..100');
  });

  it("catches the line at the tombstone carrying another hash than the tombstone's", async () => {
    const other = chain.map((c, i) => text(i === 2 ? { ...c, checkpointHash: hash(99) } : c));
    const { findings } = await run(other);
    expect(findings).toHaveLength(1);
    expect(findings[0]!.message).toContain(`witness line 3 holds checkpoint ${hash(99)} ending at the tombstone's`);
  });

  it('catches a witness with lines before the tombstone but none ending at it', async () => {
    const { findings } = await run([0, 1, 3, 4].map((i) => text(chain[i]!)));
    expect(findings).toHaveLength(1);
    expect(findings[0]!.message).toContain("the witness has no checkpoint ending at the tombstone's last position 300");
  });

  it('reports a broken line before the tombstone alone, the lines after it still pairing with theirs', async () => {
    const { findings } = await run(['not json', ...chain.map(text)]);
    expect(findings).toEqual([{ kind: 'witness_mismatch', position: null, message: 'witness line 1 is not JSON' }]);
  });

  it('accepts a witness started after the drop, and reports checkpoints after the tombstone the database lacks', async () => {
    expect((await run([text(chain[3]!)])).findings).toEqual([]);
    const extra = { ...checkpoint(5) };
    const { findings } = await run([...chain.map(text), text(extra)]);
    expect(findings).toHaveLength(1);
    expect(findings[0]!.message).toContain('witness line 6 holds checkpoint');
    expect(findings[0]!.message).toContain('that the database does not have');
  });
});
