import { ERASED } from '@audit-ledger/domain';
import { PostgresEventStore } from '@audit-ledger/event-store';
import { randomUUID } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { MasterKeyMismatchError } from '@audit-ledger/payload-keys';
import { runLedgerBin } from '../../apps/cli/test/support/run-bin.js';
import { resolveIntegrityKeys, verifyLedger } from '@audit-ledger/evidence';
import { anApproval, anExecution, anExecutionLogged } from '../support/fixtures.js';
import { startLedgerUnderTest, startTestLedger, type LedgerUnderTest } from '../support/ledger-app.js';
import { within } from '../support/within.js';

/**
 * Issue 13 item 4: an execution's output and command are stored encrypted under its stream's data key; two distinct
 * security+admin principals erase a stream: its key is destroyed, `PayloadErased` recorded, the read models scrubbed.
 * Afterwards the plaintext is in no column of any table of any schema, and the ledger still verifies.
 */
describe('erasure of a stream’s payloads (crypto-shredding)', () => {
  let t: LedgerUnderTest;
  const needle = `diagnosis-${randomUUID()}`;
  /** In a command the approval did not approve: the mismatch the reconciler records quotes it. */
  const commandNeedle = `record-${randomUUID()}`;
  const keptNeedle = `kept-${randomUUID()}`;
  const legacyNeedle = `legacy-${randomUUID()}`;
  const erased = anApproval({ approvedCommands: ['cat /srv/records/current.txt'] });
  const kept = anApproval();
  const erasedStream = `approval-${erased.approvalId}`;
  const executionId = randomUUID();
  const mismatchedId = randomUUID();
  const legacyStream = `session-legacy-${randomUUID()}`;
  let logged: ReturnType<typeof anExecution>[] = [];
  let eraser: { first: string; second: string; securityOnly: string };

  const as = (credential: string) => ({ credential });
  const approve = (credential: string, streamId = erasedStream) =>
    t.http('POST', '/v1/erasures/approvals', { streamId, reason: 'erasure request #42' }, undefined, as(credential));
  const streamData = async (streamId: string) => {
    const { body } = await t.http('GET', `/v1/streams/${streamId}`, undefined, undefined, as(t.credentials.security));
    return (body as { events: { type: string; data: Record<string, unknown> }[] }).events;
  };
  const execution = async (streamId: string) => (await streamData(streamId)).find((e) => e.type === 'ExecutionLogged')!;
  /** Every row of every table of every schema, as text, that holds `text`. */
  const tablesHolding = async (text: string) => {
    const tables = await t.sql<{ name: string }>(
      `SELECT format('%I.%I', table_schema, table_name) AS name FROM information_schema.tables
        WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')
          -- a partition's rows are read through its parent (ledger.events)
          AND NOT EXISTS (SELECT FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                            JOIN pg_namespace n ON n.oid = c.relnamespace
                           WHERE n.nspname = table_schema AND c.relname = table_name)`,
    );
    expect(tables.map((table) => table.name)).toEqual(
      expect.arrayContaining(['ledger.events', 'read_models.executions']),
    );
    const holding: string[] = [];
    for (const { name } of tables) {
      const [row] = await t.sql<{ n: string }>(`SELECT count(*) AS n FROM ${name} t WHERE strpos(t::text, $1) > 0`, [
        text,
      ]);
      if (Number(row!.n) > 0) holding.push(name);
    }
    return holding;
  };

  beforeAll(async () => {
    // the master key generated into the data directory on the first start, as without configuration
    t = await startLedgerUnderTest({ encryptCommands: true, reconciliationEnabled: true, payloadMasterKey: undefined });
    const issue = async (name: string, roles: ('security' | 'admin')[]) =>
      (await t.ledger.apiKeyAdmin.issue({ name, roles }, 'test:setup')).key;
    eraser = {
      first: await issue('eraser-1', ['security', 'admin']),
      second: await issue('eraser-2', ['security', 'admin']),
      securityOnly: await issue('security-only', ['security']),
    };
    // An execution an older ledger stored in clear (before payload encryption).
    const store = await PostgresEventStore.connect({ connectionString: t.database.url, migrate: false });
    await store.appendToStream(legacyStream, [
      {
        eventId: randomUUID(),
        type: 'ExecutionLogged',
        data: anExecutionLogged({
          sessionId: legacyStream.slice('session-'.length),
          output: {
            text: legacyNeedle,
            truncated: false,
            sha256: 'a'.repeat(64),
            bytes: legacyNeedle.length,
          },
        }) as never,
        metadata: { actor: 'older-ledger', schemaVersion: 1 },
      },
    ]);
    await store.close();
    for (const approval of [erased, kept]) expect((await t.http('POST', '/v1/approvals', approval)).status).toBe(201);
    logged = [
      anExecution({
        executionId,
        approvalId: erased.approvalId,
        command: 'cat /srv/records/current.txt',
        output: `patient ${needle}\n`,
      }),
      anExecution({
        executionId: mismatchedId,
        approvalId: erased.approvalId,
        command: `cat /srv/records/${commandNeedle}.txt`,
      }),
      anExecution({ approvalId: kept.approvalId, output: `${keptNeedle}\n` }),
    ];
    for (const body of logged) expect((await t.http('POST', '/v1/executions', body)).status).toBe(201);
  });
  afterAll(() => t?.stop());

  it('given encrypted executions, then they are ciphertext at rest and plaintext for readers, the reconciler and the read models', async () => {
    expect(await tablesHolding(needle)).toEqual([]);
    await within(10_000, 'the mismatch projected', async () =>
      (await t.sql(`SELECT 1 FROM read_models.mismatches WHERE execution_id = $1`, [mismatchedId])).length > 0
        ? true
        : undefined,
    );
    // in the events only as ciphertext (the execution and the mismatch quoting it); the read models hold copies
    expect(await tablesHolding(commandNeedle)).toEqual(['read_models.executions', 'read_models.mismatches']);
    expect((await execution(erasedStream)).data).toMatchObject({
      command: 'cat /srv/records/current.txt',
      output: { text: `patient ${needle}\n` },
    });
    // the reconciler compared the opened command with the approved one, and the projection holds it opened
    const [row] = await within(10_000, 'the execution reconciled', async () => {
      const rows = await t.sql<{ command: string; reconciliation_verdict: string | null }>(
        `SELECT command, reconciliation_verdict FROM read_models.executions WHERE execution_id = $1`,
        [executionId],
      );
      return rows[0]?.reconciliation_verdict ? rows : undefined;
    });
    expect(row).toEqual({ command: 'cat /srv/records/current.txt', reconciliation_verdict: 'matched' });
    // a retried execution (its command and output sealed again) is still the same execution
    const retried = await t.http('POST', '/v1/executions', logged[0]);
    expect(retried).toMatchObject({ status: 201, body: { duplicate: true } });
    // an event stored in clear by an older ledger reads as it was
    expect((await execution(legacyStream)).data).toMatchObject({ output: { text: legacyNeedle } });
  });

  it('keeps the generated master key private, and refuses a second ledger on the database with another master key', async () => {
    expect(statSync(join(t.ledger.config.dataDir, 'payload-master.key')).mode & 0o777).toBe(0o600);
    await expect(startTestLedger(t.database.url, { payloadMasterKey: 'ab'.repeat(32) })).rejects.toThrow(
      MasterKeyMismatchError,
    );
  });

  it('refuses an erasure without a second, distinct security+admin principal, and erases nothing', async () => {
    expect(await approve(eraser.first, 'principals')).toMatchObject({ status: 400 }); // not an execution stream
    expect(await approve(eraser.first, `approval-${randomUUID()}`)).toMatchObject({ status: 404 });
    expect(await approve(t.credentials.admin)).toMatchObject({ status: 403 });
    expect(await approve(eraser.securityOnly)).toMatchObject({
      status: 403,
      body: { error: { code: 'ERASURE.FORBIDDEN' } },
    });
    expect(await approve(eraser.first)).toMatchObject({
      status: 201,
      body: { status: 'awaiting_second_approval' },
    });
    expect(await approve(eraser.first)).toMatchObject({
      status: 409,
      body: { error: { code: 'ERASURE.SECOND_APPROVER_REQUIRED' } },
    });
    expect((await execution(erasedStream)).data).toMatchObject({ output: { text: `patient ${needle}\n` } });
  });

  it('given a second approval, then the plaintext is in no table, reads show [erased], the erasure is an event, and the ledger verifies', async () => {
    expect(await approve(eraser.second)).toMatchObject({ status: 201, body: { status: 'erased' } });

    for (const text of [needle, commandNeedle]) expect(await tablesHolding(text)).toEqual([]);
    expect((await execution(erasedStream)).data).toMatchObject({ command: ERASED, output: { text: ERASED } });
    const [row] = await t.sql<{ command: string }>(
      `SELECT command FROM read_models.executions WHERE execution_id = $1`,
      [executionId],
    );
    expect(row).toEqual({ command: ERASED });
    // the other streams are untouched
    expect((await execution(`approval-${kept.approvalId}`)).data).toMatchObject({
      output: { text: `${keptNeedle}\n` },
    });

    const erasure = await streamData(`erasure-${erasedStream}`);
    expect(erasure.map((event) => event.type)).toEqual(['ErasureApproved', 'ErasureApproved', 'PayloadErased']);
    expect(erasure[2]!.data).toMatchObject({ streamId: erasedStream, fields: ['command', 'output.text'] });

    const keys = resolveIntegrityKeys({ dataDir: t.ledger.config.dataDir });
    const report = await verifyLedger({ databaseUrl: t.database.url, keys: keys.ring });
    expect(report).toMatchObject({ ok: true });

    // a third approval changes nothing
    expect(await approve(eraser.first)).toMatchObject({ status: 201, body: { status: 'erased' } });
    expect(await streamData(`erasure-${erasedStream}`)).toHaveLength(3);
  });

  it('erases an older plaintext stream’s projections but cannot remove its plaintext events (docs/operations.md)', async () => {
    // the first approval through `ledger erase`, the second over HTTP
    const cli = await runLedgerBin(
      ['erase', legacyStream, '--reason', 'erasure request #43', '--api-key', eraser.first],
      {
        cwd: t.ledger.config.dataDir,
        env: { LEDGER_HTTP_PORT: String(t.ledger.httpPort) },
      },
    );
    expect(cli).toMatchObject({ code: 0, stdout: expect.stringContaining('approval recorded') });
    expect(await approve(eraser.second, legacyStream)).toMatchObject({ status: 201, body: { status: 'erased' } });
    expect(await tablesHolding(legacyNeedle)).toEqual(['ledger.events']);
  });
});
