import { bundleContentHash, type RangeEvidenceBundle } from '@audit-ledger/integrity';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { anApproval, anExecution } from '../support/fixtures.js';
import { startLedgerUnderTest, type LedgerUnderTest } from '../support/ledger-app.js';

const run = promisify(execFile);
const cli = join(process.cwd(), 'apps/cli/bin/ledger.js');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Integrity {
  lastCheckpoint: { toPosition: string; keyId: string; merkleRoot: string } | null;
}

/** Issue 6 item 5: an evidence bundle verifies offline in a fresh directory; one flipped byte makes it fail. */
describe('evidence bundle', () => {
  let t: LedgerUnderTest;
  let dir: string;
  let fresh: string;
  const approval = anApproval();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ledger-evidence-'));
    fresh = mkdtempSync(join(tmpdir(), 'ledger-evidence-fresh-'));
    t = await startLedgerUnderTest({ dataDir: dir, checkpointEveryMs: 50 });
    expect((await t.http('POST', '/v1/approvals', approval)).status).toBe(201);
    expect((await t.http('POST', '/v1/executions', anExecution({ approvalId: approval.approvalId }))).status).toBe(201);
    expect(
      (await t.http('POST', `/v1/approvals/${approval.approvalId}/revoke`, { by: 'bob', reason: 'done' })).status,
    ).toBe(201);
    // The ledger's sealer seals within ~everyMs + its poll; wait until the stream's last event is sealed.
    const [last] = await t.sql<{ p: string }>(
      'SELECT max(global_position)::text AS p FROM ledger.events WHERE stream_id = $1',
      [`approval-${approval.approvalId}`],
    );
    for (let i = 0; i < 100; i++) {
      const { body } = await t.http('GET', '/v1/integrity');
      const checkpoint = (body as Integrity).lastCheckpoint;
      if (checkpoint && BigInt(checkpoint.toPosition) >= BigInt(last!.p)) break;
      await sleep(100);
    }
  });

  afterAll(async () => {
    await t?.stop();
    rmSync(dir, { recursive: true, force: true });
    rmSync(fresh, { recursive: true, force: true });
  });

  it('GET /v1/integrity names the last checkpoint', async () => {
    const { status, body } = await t.http('GET', '/v1/integrity');
    expect(status).toBe(200);
    expect((body as Integrity).lastCheckpoint).toMatchObject({
      keyId: expect.stringMatching(/^[0-9a-f]{16}$/),
      merkleRoot: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
  });

  it('exports a bundle that verify-bundle accepts in a fresh directory, and refuses it with one byte flipped', async () => {
    const out = join(dir, 'bundle.json');
    await run(process.execPath, [
      cli,
      '--api-key',
      t.credentials.security,
      '--http-port',
      String(t.ledger.httpPort),
      'export',
      'evidence',
      '--approval',
      approval.approvalId,
      '--out',
      out,
    ]);
    const bundle = JSON.parse(readFileSync(out, 'utf8')) as {
      manifest: { eventCount: number; sealedEvents: number; unsealedEvents: number; checkpointCount: number };
    };
    expect(bundle.manifest).toMatchObject({ eventCount: 3, sealedEvents: 3, unsealedEvents: 0 });
    expect(bundle.manifest.checkpointCount).toBeGreaterThanOrEqual(1);

    // Another "machine": a fresh directory, no database, no keys directory, no ledger environment.
    const copy = join(fresh, 'bundle.json');
    copyFileSync(out, copy);
    const env = { PATH: process.env.PATH ?? '' };
    const ok = await run(process.execPath, [cli, 'verify-bundle', copy], { cwd: fresh, env });
    expect(ok.stdout).toMatch(/^OK: approval-.*3 events \(3 sealed, 0 not yet sealed\)/);

    // Flip one byte inside the executed command of the logged execution.
    const bytes = readFileSync(copy);
    const at = bytes.indexOf(Buffer.from('"command": "')) + '"command": "'.length;
    expect(at).toBeGreaterThan(20);
    bytes[at] = bytes[at]! ^ 0x01;
    const tampered = join(fresh, 'tampered.json');
    writeFileSync(tampered, bytes);
    const failed = await run(process.execPath, [cli, 'verify-bundle', tampered], { cwd: fresh, env })
      .then(() => null)
      .catch((error: { code: number; stdout: string }) => error);
    expect(failed?.code).toBe(5);
    expect(failed?.stdout).toMatch(/^FAILED at position \d+: edited: event at \d+ \(ExecutionLogged/);

    // A forged signature is named too.
    const forged = JSON.parse(readFileSync(copy, 'utf8')) as { checkpoints: { merkleRoot: string }[] };
    forged.checkpoints[0]!.merkleRoot = '0'.repeat(64);
    writeFileSync(tampered, JSON.stringify(forged));
    const badSignature = await run(process.execPath, [cli, 'verify-bundle', tampered], { cwd: fresh, env })
      .then(() => null)
      .catch((error: { code: number; stdout: string }) => error);
    expect(badSignature?.code).toBe(5);
    expect(badSignature?.stdout).toContain('bad_signature');
  });

  it('exports a global range, all streams, that verify-bundle accepts offline and refuses with a byte flipped or an event left out', async () => {
    const { body } = await t.http('GET', '/v1/integrity');
    const sealedTo = (body as Integrity).lastCheckpoint!.toPosition;
    const out = join(dir, 'range.json');
    await run(process.execPath, [
      cli,
      '--api-key',
      t.credentials.security,
      '--http-port',
      String(t.ledger.httpPort),
      'export',
      'evidence',
      '--from',
      '1',
      '--to',
      sealedTo,
      '--out',
      out,
    ]);
    const bundle = JSON.parse(readFileSync(out, 'utf8')) as RangeEvidenceBundle;
    expect(bundle.format).toBe('audit-ledger-evidence-range/1');
    expect(bundle.manifest).toMatchObject({ fromPosition: '1', toPosition: sealedTo, unsealedEvents: 0 });
    expect(new Set(bundle.events.map((e) => e.streamId)).size).toBeGreaterThanOrEqual(2); // the approval's and others
    expect(bundle.events.map((e) => e.globalPosition)).toEqual(
      [...bundle.events]
        .sort((a, b) => Number(a.globalPosition) - Number(b.globalPosition))
        .map((e) => e.globalPosition),
    );

    // Another "machine": a fresh directory, no database, no keys directory, no ledger environment.
    const copy = join(fresh, 'range.json');
    copyFileSync(out, copy);
    const env = { PATH: process.env.PATH ?? '' };
    const ok = await run(process.execPath, [cli, 'verify-bundle', copy], { cwd: fresh, env });
    expect(ok.stdout).toMatch(
      new RegExp(`^OK: positions 1\\.\\.${sealedTo}: ${bundle.events.length} events \\(${bundle.events.length} sealed`),
    );

    const refused = (file: string) =>
      run(process.execPath, [cli, 'verify-bundle', file], { cwd: fresh, env })
        .then(() => null)
        .catch((error: { code: number; stdout: string }) => error);

    // One byte flipped inside the executed command of the logged execution.
    const bytes = readFileSync(copy);
    const at = bytes.indexOf(Buffer.from('"command": "')) + '"command": "'.length;
    expect(at).toBeGreaterThan(20);
    bytes[at] = bytes[at]! ^ 0x01;
    const flipped = join(fresh, 'range-flipped.json');
    writeFileSync(flipped, bytes);
    const edited = await refused(flipped);
    expect(edited?.code).toBe(5);
    expect(edited?.stdout).toMatch(/^FAILED at position \d+: edited: event at \d+ \(ExecutionLogged/);

    // The execution left out by a careful forger: counts and content hash recomputed, so only the seals tell.
    const removed = bundle.events.findIndex((e) => e.type === 'ExecutionLogged');
    const position = bundle.events[removed]!.globalPosition;
    const events = bundle.events.filter((_, index) => index !== removed);
    const forged: RangeEvidenceBundle = {
      ...bundle,
      events,
      manifest: {
        ...bundle.manifest,
        eventCount: events.length,
        sealedEvents: events.length,
        contentHash: bundleContentHash({ events, checkpoints: bundle.checkpoints, publicKeys: bundle.publicKeys }),
      },
    };
    const missing = join(fresh, 'range-missing.json');
    writeFileSync(missing, JSON.stringify(forged, null, 2));
    const deleted = await refused(missing);
    expect(deleted?.code).toBe(5);
    expect(deleted?.stdout).toMatch(
      new RegExp(`^FAILED at position ${position}: deleted: position ${position} is sealed`),
    );
  });
});
