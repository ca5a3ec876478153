import { LedgerClient, silentLogger } from '@audit-ledger/client';
import { MESSAGE_PATTERNS, type CommandAck } from '@audit-ledger/domain';
import { nkeyAuthenticator, nkeys } from '@nats-io/transport-node';
import { ClientProxyFactory, Transport, type NatsOptions } from '@nestjs/microservices';
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firstValueFrom } from 'rxjs';
import type { LedgerConfigInput, RunningLedger } from '../../apps/ledger/src/index.js';
import { anApproval } from '../support/fixtures.js';
import { startTestLedger } from '../support/ledger-app.js';
import { natsServerBinary, startNatsServer, type SpawnedNatsServer } from '../support/nats-server.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

const binary = natsServerBinary();
// stderr, not console: Jest drops the console output of a file whose tests are all skipped.
if (!binary)
  process.stderr.write('[skip] NATS credentials e2e: nats-server is not installed (apt install nats-server)\n');

type ClientAuth = Omit<NonNullable<NatsOptions['options']>, 'servers'>;

/**
 * A fresh gateway API key of `ledger`. The suites share one database, so only the first ledger's start writes local
 * keys; each ledger issues its own (an active key name is unique, hence the random suffix).
 */
async function gatewayKeyOf(ledger: RunningLedger): Promise<string> {
  const name = `nats-gateway-${randomUUID().slice(0, 8)}`;
  return (await ledger.apiKeyAdmin.issue({ name, roles: ['gateway'] }, 'test:setup')).key;
}

(binary ? describe : describe.skip)("the ledger's own credentials at a NATS server with authentication", () => {
  let database: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    database = await createTestDatabase();
    dir = mkdtempSync(join(tmpdir(), 'ledger-nats-creds-'));
  });
  afterAll(async () => {
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * Starts a ledger on `server` with `credentials`, sends one grant as a gateway with `client` (the NATS server's
   * credentials) and a gateway API key in its `authorization` header, and stops it.
   */
  async function grantThrough(
    server: SpawnedNatsServer,
    credentials: Partial<LedgerConfigInput>,
    client: ClientAuth,
  ): Promise<CommandAck> {
    const ledger = await startTestLedger(database.url, {
      transport: 'nats',
      natsUrl: server.url,
      reconciliationEnabled: false,
      checkpointsEnabled: false,
      ...credentials,
    });
    try {
      const gateway = ClientProxyFactory.create({
        transport: Transport.NATS,
        options: {
          servers: [server.url],
          ...client,
          headers: { authorization: `Bearer ${await gatewayKeyOf(ledger)}` },
        },
      });
      try {
        return await firstValueFrom(gateway.send<CommandAck>(MESSAGE_PATTERNS.grantApproval, anApproval()));
      } finally {
        await gateway.close();
      }
    } finally {
      await ledger.close();
    }
  }

  const startWith = (server: SpawnedNatsServer, credentials: Partial<LedgerConfigInput>) =>
    startTestLedger(database.url, { transport: 'nats', natsUrl: server.url, ...credentials }).then(async (ledger) => {
      await ledger.close();
      return 'started';
    });

  describe('user and password', () => {
    let server: SpawnedNatsServer;
    beforeAll(async () => {
      server = await startNatsServer('user: ledger, password: "pw-0123456789"');
    });
    afterAll(() => server?.stop());

    it('given the right user and password, then the ledger connects and serves commands', async () => {
      const ack = await grantThrough(
        server,
        { natsUser: 'ledger', natsPassword: 'pw-0123456789' },
        { user: 'ledger', pass: 'pw-0123456789' },
      );
      expect(ack).toMatchObject({ duplicate: false });
    });

    it('given a wrong password, then the ledger refuses to start saying the server refused it and what to set', async () => {
      const start = startWith(server, { natsUser: 'ledger', natsPassword: 'wrong' });

      await expect(start).rejects.toMatchObject({ code: 'NATS.CONNECT_FAILED' });
      await expect(start).rejects.toThrow(/refused the ledger's connection with user "ledger".*LEDGER_NATS_PASSWORD/);
    });

    it('given no credentials, then the ledger refuses to start', async () => {
      await expect(startWith(server, {})).rejects.toThrow(/refused the ledger's connection with no credentials/);
    });
  });

  describe('token', () => {
    let server: SpawnedNatsServer;
    beforeAll(async () => {
      server = await startNatsServer('token: "tok-0123456789abcdef"');
    });
    afterAll(() => server?.stop());

    it('given the right token, then the ledger connects and serves commands', async () => {
      const ack = await grantThrough(server, { natsToken: 'tok-0123456789abcdef' }, { token: 'tok-0123456789abcdef' });
      expect(ack).toMatchObject({ duplicate: false });
    });

    it('given the LedgerClient with natsCredentials, then its command is acknowledged', async () => {
      const ledger = await startTestLedger(database.url, {
        transport: 'nats',
        natsUrl: server.url,
        natsToken: 'tok-0123456789abcdef',
        checkpointsEnabled: false,
      });
      const client = new LedgerClient({
        transport: 'nats',
        servers: [server.url],
        natsCredentials: { token: 'tok-0123456789abcdef' },
        credential: await gatewayKeyOf(ledger),
        spoolDir: mkdtempSync(join(dir, 'spool-')),
        backgroundDrain: false,
        logger: silentLogger,
      });
      try {
        expect(await client.grantApproval(anApproval())).toMatchObject({ status: 'acknowledged' });
      } finally {
        await client.close();
        await ledger.close();
      }
    });

    it('given a wrong token, then the ledger refuses to start naming LEDGER_NATS_TOKEN', async () => {
      await expect(startWith(server, { natsToken: 'not-the-token' })).rejects.toThrow(
        /with a token \(LEDGER_NATS_TOKEN\)/,
      );
    });
  });

  describe('nkey', () => {
    let server: SpawnedNatsServer;
    const ledgerKey = nkeys.createUser();
    const gatewayKey = nkeys.createUser();
    beforeAll(async () => {
      server = await startNatsServer(
        `users: [ { nkey: ${ledgerKey.getPublicKey()} }, { nkey: ${gatewayKey.getPublicKey()} } ]`,
      );
    });
    afterAll(() => server?.stop());

    const seedFile = (name: string, seed: Uint8Array, mode: number) => {
      const file = join(dir, name);
      writeFileSync(file, `${new TextDecoder().decode(seed)}\n`);
      chmodSync(file, mode);
      return file;
    };

    it('given the seed of a known nkey in a private file, then the ledger connects and serves commands', async () => {
      const ack = await grantThrough(
        server,
        { natsNkeySeedFile: seedFile('ledger.nk', ledgerKey.getSeed(), 0o600) },
        { authenticator: nkeyAuthenticator(gatewayKey.getSeed()) },
      );
      expect(ack).toMatchObject({ duplicate: false });
    });

    it('given the seed of an unknown nkey, then the ledger refuses to start', async () => {
      const stranger = seedFile('stranger.nk', nkeys.createUser().getSeed(), 0o600);
      await expect(startWith(server, { natsNkeySeedFile: stranger })).rejects.toMatchObject({
        code: 'NATS.CONNECT_FAILED',
      });
    });

    it('given a seed file readable by others, then the ledger refuses to start before connecting', async () => {
      const open = seedFile('open.nk', ledgerKey.getSeed(), 0o644);
      await expect(startWith(server, { natsNkeySeedFile: open })).rejects.toMatchObject({
        code: 'CONFIG.INSECURE_FILE',
      });
    });
  });
});
