import {
  GENESIS_CHECKPOINT_HASH,
  generateSigningKeyPair,
  parseSigningKey,
  publicKeyRing,
  sealCheckpoint,
  signRollbackAcknowledgement,
  type SealedCheckpoint,
} from '@audit-ledger/integrity';
import { startWitnessServer, type RunningWitnessServer, type WitnessStatus } from '@audit-ledger/evidence';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { anApproval } from '../support/fixtures.js';
import { startLedgerUnderTest, type LedgerUnderTest } from '../support/ledger-app.js';
import { within } from '../support/within.js';

const CLI_MAIN = fileURLToPath(new URL('../../apps/cli/dist/main.js', import.meta.url));
const key = parseSigningKey(generateSigningKeyPair().privateKeyPem);
const seal = (from: number, to: number, previous: string): SealedCheckpoint =>
  sealCheckpoint(
    {
      fromPosition: String(from),
      toPosition: String(to),
      count: to - from + 1,
      merkleRoot: 'ab'.repeat(32),
      previousCheckpointHash: previous,
      sealedAt: new Date().toISOString(),
      absent: [],
    },
    key,
  );

async function call(url: string, method: string, body?: unknown, token?: string) {
  const response = await fetch(url, {
    method,
    headers: {
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('HTTP witness (issue 10 finding 9)', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'ledger-witness-http-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('`ledger witness serve` stores checkpoints append-only (0600, fsync), refuses forks, answers its latest', async () => {
    const witnessDir = join(dir, 'served');
    const tokenFile = join(dir, 'token');
    await import('node:fs/promises').then((fs) => fs.writeFile(tokenFile, 's3cret-token\n'));
    const child = spawn(
      process.execPath,
      [CLI_MAIN, 'witness', 'serve', '--dir', witnessDir, '--port', '0', '--token-file', tokenFile],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      const url = await within(20_000, 'the witness to listen', () => /listening on (\S+),/.exec(output)?.[1]);
      const first = seal(1, 10, GENESIS_CHECKPOINT_HASH);
      const second = seal(11, 20, first.checkpointHash);
      const token = 's3cret-token';

      expect((await call(`${url}/checkpoints`, 'POST', first)).status).toBe(401);
      expect(await call(`${url}/checkpoints/latest`, 'GET', undefined, token)).toEqual({
        status: 200,
        body: { head: null, last: null },
      });
      expect((await call(`${url}/checkpoints`, 'POST', first, token)).status).toBe(201);
      expect((await call(`${url}/checkpoints`, 'POST', second, token)).status).toBe(201);
      expect((await call(`${url}/checkpoints`, 'POST', second, token)).status).toBe(200); // a retry
      const stored = readFileSync(join(witnessDir, 'checkpoints.jsonl'), 'utf8');

      // a fork (another checkpoint after `first`) and junk are refused, and change nothing
      const fork = await call(`${url}/checkpoints`, 'POST', seal(11, 30, first.checkpointHash), token);
      expect(fork).toMatchObject({ status: 409, body: { errorCode: 'WITNESS.FORK_REFUSED' } });
      expect((await call(`${url}/checkpoints`, 'POST', '{"fromPosition":', token)).status).toBe(400);
      expect((await call(`${url}/checkpoints`, 'POST', { ...second, signature: 1 }, token)).status).toBe(400);
      expect(readFileSync(join(witnessDir, 'checkpoints.jsonl'), 'utf8')).toBe(stored);
      expect(stored.trim().split('\n')).toHaveLength(2);
      expect(statSync(join(witnessDir, 'checkpoints.jsonl')).mode & 0o777).toBe(0o600);
      expect((await call(`${url}/checkpoints/latest`, 'GET', undefined, token)).body).toMatchObject({
        head: { checkpointHash: second.checkpointHash, toPosition: '20' },
        last: second,
      });
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  }, 60_000);

  it('moves its head back only with a signed acknowledgement naming that head, and keeps it across restarts', async () => {
    const keys = publicKeyRing([key.publicKey]);
    let server = await startWitnessServer({ dir: join(dir, 'acks'), port: 0, keys });
    try {
      const first = seal(1, 10, GENESIS_CHECKPOINT_HASH);
      const second = seal(11, 20, first.checkpointHash);
      for (const checkpoint of [first, second]) {
        expect((await call(`${server.url}/checkpoints`, 'POST', checkpoint)).status).toBe(201);
      }
      const unsigned = sealCheckpoint(
        { ...seal(21, 22, second.checkpointHash) },
        parseSigningKey(generateSigningKeyPair().privateKeyPem),
      );
      expect(await call(`${server.url}/checkpoints`, 'POST', unsigned)).toMatchObject({ status: 400 });
      const ack = (abandoned: SealedCheckpoint) =>
        signRollbackAcknowledgement(
          {
            abandoned: { checkpointHash: abandoned.checkpointHash, toPosition: abandoned.toPosition },
            resumedFrom: { checkpointHash: first.checkpointHash, toPosition: first.toPosition },
            eventId: 'b9a1c0de-0000-4000-8000-000000000001',
            acknowledgedBy: 'ops:alice',
            acknowledgedAt: new Date().toISOString(),
          },
          key,
        );
      expect((await call(`${server.url}/rollbacks`, 'POST', ack(first))).status).toBe(409); // not the head
      expect((await call(`${server.url}/rollbacks`, 'POST', { ...ack(second), acknowledgedBy: 'x' })).status).toBe(400);
      expect((await call(`${server.url}/rollbacks`, 'POST', ack(second))).status).toBe(201);
      await server.close();
      server = await startWitnessServer({ dir: join(dir, 'acks'), port: 0, keys });
      expect((await call(`${server.url}/checkpoints/latest`, 'GET')).body).toMatchObject({
        head: { checkpointHash: first.checkpointHash, toPosition: '10' },
      });
      // the new branch chains on the checkpoint the ledger resumed from
      expect((await call(`${server.url}/checkpoints`, 'POST', seal(11, 15, first.checkpointHash))).status).toBe(201);
    } finally {
      await server.close();
    }
  });

  describe('a ledger delivering to an HTTP witness that fails', () => {
    let t: LedgerUnderTest | undefined;
    let failing: Server | undefined;
    let witness: RunningWitnessServer | undefined;
    afterAll(async () => {
      await t?.stop();
      await witness?.close();
      failing?.close();
    });

    it('keeps appending, reports the failures, retries with backoff and catches the witness up', async () => {
      // given a witness endpoint that answers 503 to everything
      let failures = 0;
      failing = createServer((request, response) => {
        failures += 1;
        request.resume();
        response.writeHead(503, { 'content-type': 'application/json' }).end('{"message":"down for maintenance"}');
      });
      await new Promise<void>((resolve) => failing!.listen(0, '127.0.0.1', resolve));
      const port = (failing.address() as AddressInfo).port;
      t = await startLedgerUnderTest({
        dataDir: join(dir, 'ledger'),
        checkpointEveryMs: 50,
        witnessUrl: `http://127.0.0.1:${port}`,
        witnessBackoffMs: 20,
      });
      const health = async () =>
        (await t!.http('GET', '/health')).body as { status: string; witnesses: WitnessStatus[] };

      // when events are appended, they are acknowledged although the witness fails
      for (let i = 0; i < 3; i++) expect((await t.http('POST', '/v1/approvals', anApproval())).status).toBe(201);
      const down = await within(10_000, 'the witness failures to show', async () => {
        const { witnesses } = await health();
        return witnesses[0]?.status === 'failing' && witnesses[0].consecutiveFailures >= 2 ? witnesses[0] : undefined;
      });
      expect(down).toMatchObject({ kind: 'http', lastError: expect.stringContaining('HTTP 503') });
      expect(failures).toBeGreaterThanOrEqual(2);
      const integrity = (await t.http('GET', '/v1/integrity')).body as { witnesses: WitnessStatus[] };
      expect(integrity.witnesses[0]).toMatchObject({ kind: 'http' });
      // (the witness's failures can show before the first seal: wait for a checkpoint the witness has not had)
      const last = await within(10_000, 'a checkpoint to be sealed', async () => {
        const [row] = await t!.sql<{ data: { checkpointHash: string } }>(
          "SELECT data FROM ledger.events WHERE stream_id = 'checkpoints' ORDER BY stream_revision DESC LIMIT 1",
        );
        return row;
      });

      // then, once a real witness answers on that port, every checkpoint reaches it, in order
      await new Promise<void>((resolve) => {
        failing!.close(() => resolve());
        failing!.closeAllConnections();
      });
      failing = undefined;
      witness = await startWitnessServer({ dir: join(dir, 'caught-up'), port });
      await within(10_000, 'the witness to catch up', async () => {
        const { witnesses } = await health();
        const head = (await call(`${witness!.url}/checkpoints/latest`, 'GET')).body.head as {
          checkpointHash: string;
        } | null;
        return witnesses[0]?.status === 'ok' && head !== null ? head : undefined;
      });
      const lines = readFileSync(witness.file, 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as SealedCheckpoint);
      const count = await t.sql<{ n: string }>(
        "SELECT count(*)::text AS n FROM ledger.events WHERE stream_id = 'checkpoints'",
      );
      expect(lines.length).toBeGreaterThanOrEqual(Number(count[0]!.n) - 1); // sealing goes on meanwhile
      expect(lines[0]!.previousCheckpointHash).toBe(GENESIS_CHECKPOINT_HASH);
      lines.slice(1).forEach((line, i) => expect(line.previousCheckpointHash).toBe(lines[i]!.checkpointHash));
      expect(lines.map((line) => line.checkpointHash)).toContain(last.data.checkpointHash);
    }, 60_000);
  });

  it('never sends its checkpoints to a witness whose head it does not have: refused, /health 503', async () => {
    // given a witness that was unreachable at start (so the start-up comparison was skipped)…
    const failing = createServer((request, response) => {
      request.resume();
      response.writeHead(503).end();
    });
    await new Promise<void>((resolve) => failing.listen(0, '127.0.0.1', resolve));
    const port = (failing.address() as AddressInfo).port;
    const t = await startLedgerUnderTest({
      dataDir: join(dir, 'ledger-refused'),
      checkpointEveryMs: 50,
      witnessUrl: `http://127.0.0.1:${port}`,
      witnessBackoffMs: 20,
    });
    let witness: RunningWitnessServer | undefined;
    try {
      expect((await t.http('POST', '/v1/approvals', anApproval())).status).toBe(201);
      // …and that comes back holding another ledger's checkpoint
      const prepared = await startWitnessServer({ dir: join(dir, 'foreign'), port: 0 });
      expect((await call(`${prepared.url}/checkpoints`, 'POST', seal(1, 10, GENESIS_CHECKPOINT_HASH))).status).toBe(
        201,
      );
      await prepared.close();
      await new Promise<void>((resolve) => {
        failing.close(() => resolve());
        failing.closeAllConnections();
      });
      witness = await startWitnessServer({ dir: join(dir, 'foreign'), port });
      const foreign = readFileSync(witness.file, 'utf8');

      // then the ledger sends it nothing (no fork) and says so
      const refused = await within(10_000, 'the witness to be refused', async () => {
        const { status, body } = await t.http('GET', '/health');
        const [w] = (body as { witnesses: WitnessStatus[] }).witnesses;
        return w?.status === 'refused' ? { status, w } : undefined;
      });
      expect(refused.status).toBe(503);
      expect(refused.w.lastError).toContain('which this database does not have');
      expect((await t.http('POST', '/v1/approvals', anApproval())).status).toBe(201); // appends go on
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(readFileSync(witness.file, 'utf8')).toBe(foreign);
    } finally {
      await t.stop();
      await witness?.close();
    }
  }, 60_000);
});
