import { setTimeout as sleep } from 'node:timers/promises';
import type { RunningLedger } from '../../apps/ledger/src/index.js';
import { startTestLedger } from '../support/ledger-app.js';
import { startSeparatePostgres, type SeparatePostgres } from '../support/separate-postgres.js';

/**
 * Issue 16, item 3: probes that do the right thing while PostgreSQL (a server of this test's own) is stopped and
 * started again under a running ledger: live stays 200 (restarting the ledger would not help), ready is 503 until
 * the store answers again, then 200; the workers' status is a route of its own.
 */
describe('liveness, readiness and worker status', () => {
  let server: SeparatePostgres;
  let ledger: RunningLedger;

  beforeAll(async () => {
    server = await startSeparatePostgres();
    ledger = await startTestLedger(server.url, { reconciliationEnabled: false });
  });
  afterAll(async () => {
    await ledger?.close();
    await server?.remove();
  });

  const get = async (path: string) => {
    const response = await fetch(`http://127.0.0.1:${ledger.httpPort}${path}`, { signal: AbortSignal.timeout(10_000) });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  /** Polls until `check` passes: the ledger notices by itself; the test never asserts how fast. */
  const eventually = async (
    path: string,
    check: (reply: { status: number; body: Record<string, unknown> }) => boolean,
  ) => {
    let last: { status: number; body: Record<string, unknown> } | undefined;
    for (let i = 0; i < 300; i++) {
      last = await get(path);
      if (check(last)) return last;
      await sleep(100);
    }
    throw new Error(`${path}: still ${JSON.stringify(last)} after 30 s`);
  };

  it('given PostgreSQL up, then live, ready and workers answer 200', async () => {
    expect(await get('/health/live')).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect(await get('/health/ready')).toEqual({
      status: 200,
      body: { status: 'ready', database: 'reachable', migrationsApplied: expect.any(Number) },
    });
    const workers = await eventually('/health/workers', (reply) => reply.status === 200);
    expect(workers.body).toMatchObject({ status: 'ok', subscription: { alive: true }, projections: { healthy: true } });
    expect(workers.body).not.toHaveProperty('database');
  });

  it('given PostgreSQL stopped, then live stays 200 and ready is 503; started again, ready is 200 without a restart', async () => {
    await server.stop();
    const down = await eventually('/health/ready', (reply) => reply.status === 503);
    expect(down.body).toMatchObject({ status: 'not_ready', database: 'unreachable' });
    expect(await get('/health/live')).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect((await get('/health')).status).toBe(503); // the all-in-one answer stays as it was

    await server.start();
    const up = await eventually('/health/ready', (reply) => reply.status === 200);
    expect(up.body).toMatchObject({ status: 'ready', database: 'reachable' });
    expect(await get('/health/live')).toMatchObject({ status: 200 });
    await eventually('/health/workers', (reply) => reply.status === 200);
  });
});
