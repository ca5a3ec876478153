import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { WrongExpectedVersionError } from '../errors.js';
import { writeBatch } from './append-transaction.js';
import { type ValidAppend } from './append-validation.js';
import { StreamHeadCache } from './stream-head-cache.js';

type Result = Partial<pg.QueryResult>;

/** Answers each simple-protocol message the way node-pg does: one result per statement. */
class FakeClient {
  readonly sent: string[] = [];
  constructor(private readonly answer: (text: string, index: number) => Result[] | Error) {}

  query(text: string): Promise<Result[] | Result> {
    const index = this.sent.push(text) - 1;
    if (text === 'ROLLBACK') return Promise.resolve({ command: 'ROLLBACK', rows: [] });
    const answer = this.answer(text, index);
    if (answer instanceof Error) return Promise.reject(answer);
    return Promise.resolve(answer.length === 1 ? answer[0]! : answer);
  }
}

const append = (streamId: string, expectedRevision: ValidAppend['expectedRevision'] = 'any'): ValidAppend => ({
  streamId,
  events: [{ eventId: randomUUID(), type: 'Happened', data: { note: "it's \\ here" }, metadata: {} }],
  expectedRevision,
});

const reads = (heads: { stream_id: string; stream_revision: string; hash: string }[] = []): Result[] => [
  { command: 'BEGIN', rows: [] },
  { command: 'SELECT', rows: [] },
  { command: 'SELECT', rows: [{ pg_current_xact_id: '1000' }] },
  { command: 'SELECT', rows: [] },
  { command: 'SELECT', rows: heads },
  { command: 'SELECT', rows: [] },
];

/** The uuid arrays of an EXECUTE of the prepared insert: the ids assumed absent, then the rows' event ids. */
const uuidArrays = (text: string) =>
  [...text.matchAll(/ARRAY\[([^\]]*)\]::uuid\[\]/g)].map((match) =>
    [...match[1]!.matchAll(/'([0-9a-f-]{36})'/g)].map((id) => id[1]),
  );

function insertedOk(text: string, commit = 'COMMIT'): Result[] {
  const ids = uuidArrays(text)[1] ?? [];
  return [
    { command: 'INSERT', rows: ids.map((eventId, i) => ({ event_id: eventId, global_position: String(100 + i) })) },
    { command: commit, rows: [] },
  ];
}

const asClient = (fake: FakeClient) => fake as unknown as pg.ClientBase;

describe('the append transaction', () => {
  it('writes a batch in two messages: BEGIN, generic plans, xid, locks and reads; then INSERT and COMMIT', async () => {
    // given two appends, when written as one batch
    const fake = new FakeClient((text, index) => (index === 0 ? reads() : insertedOk(text)));
    const requests = [append('s-1'), append("s-'2'")];
    const outcomes = await writeBatch(asClient(fake), requests);

    // then two round trips, statements in the order the guarantees need
    expect(fake.sent).toHaveLength(2);
    const [first, second] = fake.sent as [string, string];
    const order = [
      'BEGIN',
      'force_generic_plan',
      'pg_current_xact_id()',
      'EXECUTE ledger_append_lock_streams',
      'EXECUTE ledger_append_read_heads',
      'EXECUTE ledger_append_read_stored',
    ];
    const at = order.map((marker) => first.indexOf(marker));
    expect(at.every((position) => position >= 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    expect(first).toContain("'s-''2'''");
    // the insert assumes no heads and no absent ids: it was decided on what the first message read under the locks
    expect(second).toMatch(
      /^EXECUTE ledger_append_insert\(ARRAY\[\]::text\[\], ARRAY\[\]::bigint\[\], ARRAY\[\]::text\[\], ARRAY\[\]::uuid\[\], [\s\S]*\);\nCOMMIT$/,
    );
    expect(second).not.toContain('BEGIN');
    // and each request gets its position from the insert
    expect(outcomes.map((outcome) => outcome.ok && outcome.result.lastPosition)).toEqual([100n, 101n]);
  });

  it('tells the caller just before it sends the INSERT and COMMIT', async () => {
    const events: string[] = [];
    const fake = new FakeClient((text, index) => {
      events.push(`message ${index}`);
      return index === 0 ? reads() : insertedOk(text);
    });
    await writeBatch(asClient(fake), [append('s-1')], { onCommitting: () => events.push('committing') });
    expect(events).toEqual(['message 0', 'committing', 'message 1']);
  });

  it('rolls back and throws when the INSERT fails, so the batch is retried one by one', async () => {
    const refused = Object.assign(new Error('duplicate key'), { code: '23505' });
    const fake = new FakeClient((_, index) => (index === 0 ? reads() : refused));
    await expect(writeBatch(asClient(fake), [append('s-1')])).rejects.toBe(refused);
    expect(fake.sent.at(-1)).toBe('ROLLBACK');
  });

  it('rolls back and throws when the reads fail', async () => {
    const lost = Object.assign(new Error('terminating connection'), { code: '57P01' });
    const fake = new FakeClient(() => lost);
    await expect(writeBatch(asClient(fake), [append('s-1')])).rejects.toBe(lost);
    expect(fake.sent).toHaveLength(2);
    expect(fake.sent[1]).toBe('ROLLBACK');
  });

  it('never takes a COMMIT that the server answered with ROLLBACK for a commit', async () => {
    const fake = new FakeClient((text, index) => (index === 0 ? reads() : insertedOk(text, 'ROLLBACK')));
    await expect(writeBatch(asClient(fake), [append('s-1')])).rejects.toThrow(/did not commit \(ROLLBACK\)/);
  });

  it('commits without an INSERT when every request is refused or replayed', async () => {
    // given a stream at revision 3 and an append expecting revision 1
    const fake = new FakeClient((_, index) =>
      index === 0 ? reads([{ stream_id: 's-1', stream_revision: '3', hash: 'h' }]) : [{ command: 'COMMIT', rows: [] }],
    );
    const [outcome] = await writeBatch(asClient(fake), [append('s-1', 1)]);
    // then the request is refused alone, after a COMMIT sent on its own
    expect(fake.sent[1]).toBe('COMMIT');
    expect(outcome).toMatchObject({ ok: false });
    expect(outcome?.ok === false && outcome.error).toBeInstanceOf(WrongExpectedVersionError);
  });

  describe('with the stream heads remembered', () => {
    const guarded = (text: string, inserted = true): Result[] => [
      { command: 'BEGIN', rows: [] },
      { command: 'SELECT', rows: [] },
      { command: 'SELECT', rows: [{ pg_current_xact_id: '1000' }] },
      { command: 'SELECT', rows: [] },
      ...insertedOk(inserted ? text : ''),
    ];

    it('writes the batch in one message, its INSERT guarded by the heads it was planned on', async () => {
      // given a process that remembers s-1 at revision 4 and s-2 as absent
      const heads = new StreamHeadCache();
      heads.set('s-1', { revision: 4, hash: 'h4' });
      heads.set('s-2', null);
      const fake = new FakeClient((text) => guarded(text));
      // when it writes an append expecting revision 4 and one expecting no stream
      const outcomes = await writeBatch(asClient(fake), [append('s-1', 4), append('s-2', 'no_stream')], { heads });
      // then one round trip: locks before the guarded insert, COMMIT last
      expect(fake.sent).toHaveLength(1);
      const [message] = fake.sent as [string];
      const order = [
        'BEGIN',
        'force_generic_plan',
        'pg_current_xact_id()',
        'EXECUTE ledger_append_lock_streams',
        'EXECUTE ledger_append_insert',
        'COMMIT',
      ];
      const at = order.map((marker) => message.indexOf(marker));
      expect(at.every((position) => position >= 0)).toBe(true);
      expect([...at].sort((a, b) => a - b)).toEqual(at);
      // the heads assumed, stream by stream (-1: no stream), and every event id of the batch assumed absent
      expect(message).toContain("ARRAY['s-1','s-2']::text[], ARRAY[4,-1]::bigint[], ARRAY['h4','']::text[]");
      const [absent, rows] = uuidArrays(message);
      expect(absent).toEqual(rows);
      expect(rows).toHaveLength(2);
      // and the answers and the remembered heads are those of the plan
      expect(outcomes.map((o) => o.ok && o.result.nextExpectedRevision)).toEqual([5, 0]);
      expect(heads.get('s-1')?.revision).toBe(5);
      expect(heads.get('s-2')?.revision).toBe(0);
    });

    it('writes the long way when the guard finds other heads (the INSERT wrote nothing)', async () => {
      // given a remembered head that another process has moved on from (the database holds revision 6)
      const heads = new StreamHeadCache();
      heads.set('s-1', { revision: 4, hash: 'h4' });
      const fake = new FakeClient((text, index) =>
        index === 0
          ? guarded(text, false)
          : index === 1
            ? reads([{ stream_id: 's-1', stream_revision: '6', hash: 'h6' }])
            : [{ command: 'COMMIT', rows: [] }],
      );
      // when an append expecting revision 4 is written
      const [outcome] = await writeBatch(asClient(fake), [append('s-1', 4)], { heads });
      // then it is decided on the heads read under the lock: refused, after a COMMIT of nothing
      expect(fake.sent).toHaveLength(3);
      expect(outcome?.ok === false && outcome.error).toBeInstanceOf(WrongExpectedVersionError);
      expect(heads.get('s-1')).toEqual({ revision: 6, hash: 'h6' });
    });

    it('takes the long way for a stream it does not remember', async () => {
      const heads = new StreamHeadCache();
      const fake = new FakeClient((text, index) => (index === 0 ? reads() : insertedOk(text)));
      await writeBatch(asClient(fake), [append('s-9')], { heads });
      expect(fake.sent).toHaveLength(2);
      expect(heads.get('s-9')?.revision).toBe(0);
    });

    it('forgets the heads of a batch whose transaction failed', async () => {
      const heads = new StreamHeadCache();
      heads.set('s-1', { revision: 4, hash: 'h4' });
      const refused = Object.assign(new Error('unsupported Unicode escape sequence'), { code: '22P05' });
      const fake = new FakeClient(() => refused);
      await expect(writeBatch(asClient(fake), [append('s-1')], { heads })).rejects.toBe(refused);
      expect(fake.sent.at(-1)).toBe('ROLLBACK');
      expect(heads.get('s-1')).toBeUndefined();
    });
  });
});
