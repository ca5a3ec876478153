import pg from 'pg';
import { sessionStreamId } from '@audit-ledger/domain';
import { PostgresEventStore } from '@audit-ledger/event-store';
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.js';
import {
  DURATION_P95_MAX_RELATIVE_ERROR,
  ProjectionRunner,
  projectionsWithReconciliation,
  ReadModelQueries,
  type SummaryQuery,
} from '../src/index.js';
import { compareGroups } from '../src/queries/read-model-queries.js';
import { rollupSummaries } from '../src/queries/rollup-summaries.js';
import { appendGeneratedHistory, appendMarker, mismatch } from './generated-history.js';
import { execution, waitFor } from './read-model-test-support.js';

/** A small deterministic PRNG (mulberry32), so a failure names a history that can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEED = 20261123;
const START = Date.parse('2026-03-01T00:00:00.000Z');
const SPAN_MS = 9 * 86_400_000;

/**
 * Property: on a generated history (the varied one of the rebuild tests, plus session actions at random instants
 * over nine days with log-uniform durations from 0 ms to ~3 h, random workers, tools, exit codes and mismatches),
 * every summary the rollups answer equals the exact aggregate over the rows (`exact: true`) in every count, and its
 * p95 is within the documented relative error of the exact `percentile_cont`.
 */
describe('summary rollups against the exact aggregate', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let pool: pg.Pool;
  let runner: ProjectionRunner;
  let queries: ReadModelQueries;

  beforeAll(async () => {
    db = await createTestDatabase('read_models_summary_rollups');
    store = await PostgresEventStore.connect({ connectionString: db.url, pollIntervalMs: 50 });
    pool = new pg.Pool({ connectionString: db.url, max: 4 });
    await appendGeneratedHistory(store, { approvals: 40, perApproval: 4, sessions: 6 });
    const next = random(SEED);
    const pick = <T>(values: readonly T[]): T => values[Math.floor(next() * values.length)]!;
    const appends: Promise<unknown>[] = [];
    for (let s = 0; s < 8; s++) {
      const sessionId = `R${s}`;
      const events = [];
      for (let i = 0; i < 60; i++) {
        const startedAt = new Date(START + Math.floor(next() * SPAN_MS));
        const durationMs = next() < 0.05 ? 0 : Math.floor(10 ** (next() * 7));
        const executionId = `R${s}-${i}`;
        events.push(
          execution({
            executionId,
            sessionId,
            workerId: pick(['w0', 'w1', 'w2', 'w9']),
            toolName: pick(['shell', 'kubectl', 'git', 'psql']),
            exitCode: next() < 0.2 ? pick([1, 2, null]) : 0,
            startedAt: startedAt.toISOString(),
            finishedAt: new Date(startedAt.getTime() + durationMs).toISOString(),
            durationMs,
          }),
        );
        if (next() < 0.15) {
          events.push(mismatch({ sessionId, executionId, kind: pick(['no_approval', 'policy_violation']) }).event);
        }
      }
      appends.push(store.appendToStream(sessionStreamId(sessionId), events));
    }
    await Promise.all(appends);
    runner = await ProjectionRunner.start({
      store,
      connectionString: db.url,
      projections: projectionsWithReconciliation(),
    });
    const marker = await appendMarker(store);
    await waitFor(
      'the projections',
      () => runner.status().projections.every((p) => BigInt(p.position) >= marker),
      30_000,
    ).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}: ${JSON.stringify(runner.status())}`);
    });
    queries = new ReadModelQueries(pool);
  });

  afterAll(async () => {
    await runner?.stop();
    await pool?.end();
    await store?.close();
    await db?.drop();
  });

  const at = (iso: string) => new Date(iso);
  const ranges: { from?: Date; to?: Date }[] = [
    {},
    { from: at('2026-03-02T00:00:00.000Z'), to: at('2026-03-09T00:00:00.000Z') },
    { from: at('2026-02-26T07:45:00.000Z'), to: at('2026-03-16T00:00:00.000Z') },
    { from: at('2026-03-01T13:17:42.123Z'), to: at('2026-03-07T05:03:00.000Z') },
    { from: at('2026-03-03T08:20:00.000Z') },
    { to: at('2026-03-04T23:59:59.999Z') },
    { from: at('2026-03-05T10:10:00.000Z'), to: at('2026-03-05T10:50:00.000Z') },
    { from: at('2026-03-05T10:10:00.000Z'), to: at('2026-03-05T22:50:00.000Z') },
  ];
  const shapes: Pick<SummaryQuery, 'groupBy' | 'workerId' | 'riskLevel' | 'toolName'>[] = [
    { groupBy: [] },
    { groupBy: ['worker'] },
    { groupBy: ['riskLevel'] },
    { groupBy: ['toolName'] },
    { groupBy: ['toolName'], toolName: 'kubectl' },
    { groupBy: ['riskLevel'], riskLevel: 'none' },
    { groupBy: [], workerId: 'w1' },
  ];
  const cases = (['hour', 'day', 'week'] as const).flatMap((bucket) =>
    shapes.flatMap((shape) => ranges.map((range) => ({ bucket, ...shape, ...range }) as SummaryQuery)),
  );

  it.each(cases.map((query) => [JSON.stringify(query), query] as const))(
    'given %s, the rollup answer equals the exact one (p95 within the bound)',
    async (_name, query) => {
      const rollup = await queries.summaries(query);
      const exact = await queries.summaries({ ...query, exact: true });
      expect(rollup.p95).toBe('histogram');
      expect(exact.p95).toBe('exact');
      const withoutP95 = (items: typeof rollup.items) => items.map(({ p95DurationMs: _, ...rest }) => rest);
      expect(withoutP95(rollup.items)).toEqual(withoutP95(exact.items));
      expect(rollup.truncated).toBe(exact.truncated);
      for (const [i, item] of rollup.items.entries()) {
        const wanted = exact.items[i]!.p95DurationMs;
        if (wanted === null) expect(item.p95DurationMs).toBeNull();
        else
          expect(Math.abs(item.p95DurationMs! - wanted)).toBeLessThanOrEqual(wanted * DURATION_P95_MAX_RELATIVE_ERROR);
      }
    },
  );

  it('has rows in most of those answers (the comparison is not between empty lists)', async () => {
    const sizes = await Promise.all(cases.map(async (query) => (await queries.summaries(query)).items.length));
    expect(sizes.filter((n) => n > 0).length).toBeGreaterThan(cases.length * 0.8);
  });

  it('cuts a long answer where the exact path would (grouped), or at a whole bucket before it (ungrouped)', async () => {
    for (const query of [
      { bucket: 'hour', groupBy: ['toolName'] },
      { bucket: 'day', groupBy: ['worker'], from: at('2026-03-01T13:17:42.123Z') },
      { bucket: 'hour', groupBy: [] },
      { bucket: 'hour', groupBy: [], riskLevel: 'safe' },
    ] as SummaryQuery[]) {
      const exact = await queries.summaries({ ...query, exact: true });
      for (let limit = 1; limit <= 12; limit++) {
        const cut = await rollupSummaries(pool, query, query.groupBy, limit);
        const items = cut!.items.sort((a, b) => compareGroups(a, b, query.groupBy)).slice(0, limit);
        const withoutP95 = (list: typeof items) => list.map(({ p95DurationMs: _, ...rest }) => rest);
        expect(cut!.truncated).toBe(true);
        expect(withoutP95(items)).toEqual(withoutP95(exact.items.slice(0, items.length)));
        if (query.groupBy.length > 0 || query.riskLevel) expect(items).toHaveLength(limit);
      }
    }
  });

  it('takes the exact path while the executions rows come from a version without rollups (not rebuilt yet)', async () => {
    const query: SummaryQuery = { bucket: 'day', groupBy: ['riskLevel'] };
    await pool.query(`UPDATE read_models.projection_checkpoints SET version = 2 WHERE name = 'executions'`);
    try {
      expect((await queries.summaries(query)).p95).toBe('exact');
    } finally {
      await pool.query(`UPDATE read_models.projection_checkpoints SET version = 3 WHERE name = 'executions'`);
    }
    expect((await queries.summaries(query)).p95).toBe('histogram');
  });

  it('falls back to the exact aggregate for groupings the rollups do not cover', async () => {
    for (const query of [
      { bucket: 'day', groupBy: ['worker', 'toolName'] },
      { bucket: 'day', groupBy: ['session'] },
      { bucket: 'day', groupBy: ['worker'], toolName: 'git' },
      { bucket: 'day', groupBy: [], sessionId: 'R1' },
    ] as SummaryQuery[]) {
      expect((await queries.summaries(query)).p95).toBe('exact');
    }
  });
});
