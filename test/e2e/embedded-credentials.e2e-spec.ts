import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { freePort } from '../../apps/ledger/src/shared/free-port.js';
import { anApproval, anExecution } from '../support/fixtures.js';
import { spawnLedger } from '../support/ledger-process.js';
import { localBearer } from '../support/test-credentials.js';

/**
 * Issue 10, findings 10 and 5 with the embedded default: the superuser has a generated password kept in the data
 * directory (0600), the data and keys directories are private, the service runs as `ledger_service` (a member of
 * ledger_writer only), and a data directory from before (password `postgres`, 0755 directories, read models owned by
 * the superuser) is brought in line at its next start, with log lines, and keeps working with no extra step.
 */
describe('the embedded PostgreSQL credentials and the data directory', () => {
  let parent: string;
  let dataDir: string;
  let pgPort: number;
  const mode = (path: string) => statSync(path).mode & 0o777;
  const asRoot = process.getuid?.() === 0;
  const privateDirMode = asRoot ? 0o710 : 0o700; // as root the server's OS user must pass through

  const connect = async (user: string, password: string, database = 'ledger') => {
    const client = new pg.Client({ host: '127.0.0.1', port: pgPort, user, password, database });
    client.on('error', () => undefined);
    await client.connect();
    return client;
  };
  const refusedCode = (user: string, password: string) =>
    connect(user, password).then(
      async (client) => {
        await client.end();
        return 'ACCEPTED';
      },
      (error: { code?: string }) => error.code,
    );

  async function runLedger<T>(work: (httpPort: number) => Promise<T>): Promise<{ result: T; output: string }> {
    const tcpPort = await freePort();
    const httpPort = await freePort();
    const ledger = await spawnLedger(
      {
        DATABASE_URL: '',
        LEDGER_DATA_DIR: dataDir,
        LEDGER_EMBEDDED_PG_PORT: String(pgPort),
        LEDGER_TCP_PORT: String(tcpPort),
        LEDGER_HTTP_PORT: String(httpPort),
        LEDGER_RECONCILIATION_ENABLED: 'false',
      },
      tcpPort,
    );
    try {
      return { result: await work(httpPort), output: ledger.output() };
    } finally {
      await ledger.stop();
    }
  }

  const post = async (httpPort: number, path: string, body: unknown) => {
    for (let i = 0; ; i++) {
      try {
        const response = await fetch(`http://127.0.0.1:${httpPort}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...localBearer(dataDir, 'gateway') },
          body: JSON.stringify(body),
        });
        return response.status;
      } catch (error) {
        if (i > 100) throw error; // the HTTP port opens just after the TCP one
        await sleep(100);
      }
    }
  };
  const executionShows = async (httpPort: number, executionId: string) => {
    for (let i = 0; i < 200; i++) {
      if (
        (
          await fetch(`http://127.0.0.1:${httpPort}/v1/executions/${executionId}`, {
            headers: localBearer(dataDir, 'security'),
          })
        ).status === 200
      )
        return true;
      await sleep(50);
    }
    return false;
  };

  beforeAll(async () => {
    parent = mkdtempSync(join(tmpdir(), 'ledger-credentials-'));
    chmodSync(parent, 0o755); // as root the server runs as the OS user postgres
    dataDir = join(parent, 'data');
    pgPort = await freePort();
  });

  afterAll(() => {
    rmSync(parent, { recursive: true, force: true });
  });

  it('given a first start, then the superuser password is generated and private, and the service is ledger_service', async () => {
    const approval = anApproval();
    const execution = anExecution({ approvalId: approval.approvalId });
    await runLedger(async (httpPort) => {
      expect(await post(httpPort, '/v1/approvals', approval)).toBe(201);
      expect(await post(httpPort, '/v1/executions', execution)).toBe(201);
      expect(await executionShows(httpPort, execution.executionId)).toBe(true);

      const passwordFile = join(dataDir, 'pg.password');
      expect(mode(passwordFile)).toBe(0o600);
      expect(mode(join(dataDir, 'pg-ledger_service.password'))).toBe(0o600);
      expect(mode(dataDir)).toBe(privateDirMode);
      expect(mode(join(dataDir, 'keys'))).toBe(0o700);
      expect(await refusedCode('postgres', 'postgres')).toBe('28P01');

      const superuser = await connect('postgres', readFileSync(passwordFile, 'utf8').trim());
      try {
        const sessions = await superuser.query<{ usename: string }>(
          `SELECT DISTINCT usename FROM pg_stat_activity WHERE datname = 'ledger' AND application_name LIKE 'audit-ledger%'`,
        );
        expect(sessions.rows).toEqual([{ usename: 'ledger_service' }]);
        const memberships = await superuser.query<{ role: string }>(
          `SELECT r.rolname AS role FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid
            WHERE m.member = 'ledger_service'::regrole`,
        );
        expect(memberships.rows).toEqual([{ role: 'ledger_writer' }]);
      } finally {
        await superuser.end();
      }
      const service = await connect(
        'ledger_service',
        readFileSync(join(dataDir, 'pg-ledger_service.password'), 'utf8').trim(),
      );
      try {
        await expect(
          service.query('ALTER TABLE ledger.events DISABLE TRIGGER events_append_only'),
        ).rejects.toMatchObject({
          code: '42501',
        });
      } finally {
        await service.end();
      }
    });
  });

  it('given a data directory from before (password postgres, 0755, read models of the superuser), when the ledger starts, then it is brought in line and keeps working', async () => {
    // Given the state a release before issue 10 left behind.
    const passwordFile = join(dataDir, 'pg.password');
    const password = readFileSync(passwordFile, 'utf8').trim();
    await runLedger(async () => {
      const superuser = await connect('postgres', password);
      try {
        await superuser.query(`ALTER ROLE postgres PASSWORD 'postgres'`);
        await superuser.query('ALTER SCHEMA read_models OWNER TO postgres');
        const { rows } = await superuser.query<{ name: string }>(
          `SELECT oid::regclass::text AS name FROM pg_class WHERE relnamespace = 'read_models'::regnamespace AND relkind = 'r'`,
        );
        for (const { name } of rows) await superuser.query(`ALTER TABLE ${name} OWNER TO postgres`);
      } finally {
        await superuser.end();
      }
    });
    rmSync(passwordFile);
    rmSync(join(dataDir, 'pg-ledger_service.password'));
    chmodSync(dataDir, 0o755);
    chmodSync(join(dataDir, 'keys'), 0o755);

    // When the ledger starts on it, with no extra step.
    const approval = anApproval();
    const execution = anExecution({ approvalId: approval.approvalId });
    const { output } = await runLedger(async (httpPort) => {
      expect(await post(httpPort, '/v1/approvals', approval)).toBe(201);
      expect(await post(httpPort, '/v1/executions', execution)).toBe(201);
      expect(await executionShows(httpPort, execution.executionId)).toBe(true);
    });

    // Then the password is a generated one, kept 0600, and the old one no longer opens the server.
    expect(existsSync(passwordFile)).toBe(true);
    expect(mode(passwordFile)).toBe(0o600);
    expect(readFileSync(passwordFile, 'utf8').trim()).not.toBe('postgres');
    expect(mode(dataDir)).toBe(privateDirMode);
    expect(mode(join(dataDir, 'keys'))).toBe(0o700);
    expect(output).toContain("replaced the embedded PostgreSQL superuser's default password");
    expect(output).toContain(`tightened ${dataDir}`);
    expect(output).toContain(`tightened ${join(dataDir, 'keys')}`);
    expect(output).toContain('handed the read-model schemas over to the runtime login ledger_service');
    await runLedger(async () => {
      expect(await refusedCode('postgres', 'postgres')).toBe('28P01');
    });
  });
});
