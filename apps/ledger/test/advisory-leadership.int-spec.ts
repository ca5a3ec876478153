import pg from 'pg';
import pino from 'pino';
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.js';
import { within } from '../../../test/support/within.js';
import { AdvisoryLeadership } from '../src/leadership/advisory-leadership.js';

const logger = pino({ level: 'silent' });

/** A contender whose worker records where it runs (`running`) and each start and stop (`history`). */
function contender(db: TestDatabase, name: string, running: Set<string>, label: string, history: string[] = []) {
  return new AdvisoryLeadership({ connectionString: db.url, name, logger, retryMs: 50 }, () => {
    running.add(label);
    history.push(`${label} started`);
    return Promise.resolve({
      stop: () => {
        running.delete(label);
        history.push(`${label} stopped`);
        return Promise.resolve();
      },
    });
  });
}

describe('one worker across processes: advisory-lock leadership', () => {
  let db: TestDatabase;
  let admin: pg.Client;
  beforeAll(async () => {
    db = await createTestDatabase();
    admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
  });
  afterAll(async () => {
    await admin.end();
    await db.drop();
  });

  it('given two contenders, when the first starts, then it leads and the second stands by; when it stops, the second takes over', async () => {
    const running = new Set<string>();
    const a = contender(db, 'stop-takeover', running, 'a');
    const b = contender(db, 'stop-takeover', running, 'b');
    await a.start();
    await b.start();
    expect([a.status().role, b.status().role, [...running]]).toEqual(['leader', 'standby', ['a']]);

    await a.stop();
    await within(10_000, 'b leading', () => (b.status().role === 'leader' ? true : undefined));
    expect([a.status().role, [...running]]).toEqual(['stopped', ['b']]);
    await b.stop();
    expect(running.size).toBe(0);
  });

  it('given a leader whose connection dies, then its worker stops and one contender leads again', async () => {
    const running = new Set<string>();
    const history: string[] = [];
    const a = contender(db, 'connection-lost', running, 'a', history);
    const b = contender(db, 'connection-lost', running, 'b', history);
    try {
      await a.start();
      await b.start();

      // What a crashed process amounts to for the server: its session ends, and with it the lock.
      const { rows } = await admin.query<{ terminated: boolean }>(
        `SELECT pg_terminate_backend(a.pid) AS terminated
           FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid AND l.locktype = 'advisory' AND l.granted
          WHERE a.application_name = 'audit-ledger leader:connection-lost'`,
      );
      expect(rows).toEqual([{ terminated: true }]);
      await within(10_000, 'a contender leading after the lost connection', () =>
        history.includes('a stopped') && running.size === 1 ? true : undefined,
      );
      // One new term, whoever won it (the standby, or the old leader on a new connection).
      expect(history.filter((entry) => entry.endsWith('started'))).toHaveLength(2);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it('given different workers, then each has a leader of its own', async () => {
    const running = new Set<string>();
    const one = contender(db, 'worker-one', running, 'one');
    const two = contender(db, 'worker-two', running, 'two');
    await Promise.all([one.start(), two.start()]);
    expect(new Set(running)).toEqual(new Set(['one', 'two']));
    await Promise.all([one.stop(), two.stop()]);
  });
});
