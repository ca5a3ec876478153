import { LedgerClient, silentLogger } from '@audit-ledger/client';
import { MESSAGE_PATTERNS, type CommandAck } from '@audit-ledger/domain';
import { ClientProxyFactory, Transport, type ClientProxy } from '@nestjs/microservices';
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { connect as connectTls, type ConnectionOptions } from 'node:tls';
import { firstValueFrom } from 'rxjs';
import { startLedger } from '../../apps/ledger/src/index.js';
import { anApproval } from '../support/fixtures.js';
import { startLedgerUnderTest, type LedgerUnderTest } from '../support/ledger-app.js';
import { connectRaw, errorCode, settlesWithin } from '../support/raw-tcp.js';
import { within } from '../support/within.js';
import { createTestPki, opensslAvailable, type CertificateFiles, type TestPki } from '../support/test-certificates.js';

const canRun = opensslAvailable();
if (!canRun) console.log('TLS tests skipped: openssl is not installed (they generate their certificates with it)');
const describeWithOpenssl = canRun ? describe : describe.skip;

type Outcome = { outcome: 'served'; ack: CommandAck } | { outcome: 'refused'; reason: string };

/**
 * One grant over a fresh connection (TLS with `tls`, else plain TCP), its packet carrying `credential` as `auth` when
 * given (else the connection's certificate must speak for it): the ack, or why there was none.
 */
async function grantOnce(port: number, tls?: ConnectionOptions, credential?: string): Promise<Outcome> {
  let connection;
  try {
    connection = await connectRaw(port, tls);
  } catch (error) {
    return { outcome: 'refused', reason: (error as Error).message };
  }
  try {
    const id = randomUUID();
    const packet = { pattern: MESSAGE_PATTERNS.grantApproval, data: anApproval(), id };
    const json = JSON.stringify(credential === undefined ? packet : { ...packet, auth: credential });
    await connection.write(`${json.length}#${json}`);
    const reply = await connection.nextReply((r) => r.id === id || errorCode(r) !== undefined, 15_000);
    if (reply?.response !== undefined) return { outcome: 'served', ack: reply.response as CommandAck };
    return { outcome: 'refused', reason: errorCode(reply) ?? 'closed without a reply' };
  } finally {
    connection.destroy();
  }
}

const withCertificate = (ca: CertificateFiles, client?: CertificateFiles): ConnectionOptions => ({
  ca: ca.cert,
  ...(client ? { cert: client.cert, key: client.key } : {}),
});

/** Events recorded, refusals aside (those are recorded by design: rate-limited AccessRefused events). */
async function eventCount(t: LedgerUnderTest): Promise<number> {
  const [row] = await t.sql<{ n: string }>(`SELECT count(*) AS n FROM ledger.events WHERE type <> 'AccessRefused'`);
  return Number(row!.n);
}

/** GET over HTTPS trusting `ca`, or over plain HTTP without it: the status, or the error's message. */
function get(port: number, path: string, ca?: Buffer): Promise<{ status?: number; error?: string }> {
  return new Promise((resolve) => {
    const options = { host: '127.0.0.1', port, path, servername: 'localhost', timeout: 10_000 };
    const request = ca ? httpsRequest({ ...options, ca }) : httpRequest(options);
    request.on('response', (response) => {
      response.resume();
      response.on('end', () => resolve({ status: response.statusCode! }));
    });
    request.on('error', (error) => resolve({ error: error.message }));
    request.on('timeout', () => request.destroy(new Error('timeout')));
    request.end();
  });
}

describeWithOpenssl('TLS on the TCP transport, client certificates required', () => {
  let pki: TestPki;
  let t: LedgerUnderTest;
  let client: ClientProxy | undefined;
  beforeAll(async () => {
    pki = createTestPki();
    const principalsFile = join(pki.dir, 'principals.json');
    writeFileSync(
      principalsFile,
      JSON.stringify([
        { cn: 'gateway.example', name: 'gw-tls', roles: ['gateway'] },
        { cn: 'reader.example', name: 'rd-tls', roles: ['reader'] },
      ]),
    );
    t = await startLedgerUnderTest({
      tlsCertFile: pki.server.certFile,
      tlsKeyFile: pki.server.keyFile,
      tlsCaFile: pki.ca.certFile,
      tlsClientCert: 'required',
      tlsClientPrincipalsFile: principalsFile,
      tlsHandshakeTimeoutMs: 60_000,
      tcpMaxConnections: 6,
      checkpointsEnabled: false,
    });
  });
  afterAll(async () => {
    await client?.close();
    await t?.stop();
    pki?.remove();
  });

  // The refused clients below present a valid gateway API key: what refuses them is TLS, not a missing credential.
  it('given a client without TLS, then it is refused and nothing is recorded', async () => {
    const before = await eventCount(t);

    expect(await grantOnce(t.ledger.tcpPort, undefined, t.credentials.gateway)).toMatchObject({ outcome: 'refused' });
    expect(await eventCount(t)).toBe(before);
  });

  it("given a client that trusts another CA, then it refuses the ledger's certificate and sends nothing", async () => {
    const attempt = await grantOnce(t.ledger.tcpPort, withCertificate(pki.otherCa, pki.client('gateway.example')));

    expect(attempt).toMatchObject({ outcome: 'refused', reason: expect.stringMatching(/certificate/i) });
  });

  it('given a client certificate issued by another CA, then the ledger refuses it and nothing is recorded', async () => {
    const before = await eventCount(t);

    expect(
      await grantOnce(
        t.ledger.tcpPort,
        withCertificate(pki.ca, pki.otherClient('gateway.example')),
        t.credentials.gateway,
      ),
    ).toMatchObject({ outcome: 'refused' });
    expect(await eventCount(t)).toBe(before);
  });

  it('given a client without a certificate, then the ledger refuses it and nothing is recorded', async () => {
    const before = await eventCount(t);

    expect(await grantOnce(t.ledger.tcpPort, withCertificate(pki.ca), t.credentials.gateway)).toMatchObject({
      outcome: 'refused',
    });
    expect(await eventCount(t)).toBe(before);
  });

  it("given the right CA and a mapped client certificate without an API key (Nest's TCP client), then the command is recorded with the certificate's principal as actor", async () => {
    const gateway = pki.client('gateway.example');
    client = ClientProxyFactory.create({
      transport: Transport.TCP,
      options: {
        host: '127.0.0.1',
        port: t.ledger.tcpPort,
        tlsOptions: { ca: pki.ca.cert, cert: gateway.cert, key: gateway.key, servername: 'localhost' },
      },
    });
    const approval = anApproval();
    const ack = await firstValueFrom(client.send<CommandAck>(MESSAGE_PATTERNS.grantApproval, approval));

    expect(ack).toMatchObject({ streamId: `approval-${approval.approvalId}`, duplicate: false });
    const [row] = await t.sql<{ type: string; actor: string }>(
      `SELECT type, metadata->>'actor' AS actor FROM ledger.events WHERE stream_id = $1`,
      [ack.streamId],
    );
    expect(row).toEqual({ type: 'ApprovalGranted', actor: 'cert:gw-tls' });
  });

  it('given a mapped client certificate and an API key in the packet, then the API key is the actor', async () => {
    const attempt = await grantOnce(
      t.ledger.tcpPort,
      withCertificate(pki.ca, pki.client('gateway.example')),
      t.credentials.gateway,
    );

    expect(attempt).toMatchObject({ outcome: 'served' });
    const ack = (attempt as { ack: CommandAck }).ack;
    const [row] = await t.sql<{ actor: string }>(
      `SELECT metadata->>'actor' AS actor FROM ledger.events WHERE stream_id = $1`,
      [ack.streamId],
    );
    expect(row?.actor).toBe(t.credentials.actors.gateway);
  });

  it('given a certificate the CA issued but the principals file does not name, then a packet without an API key is refused with AUTH.UNAUTHENTICATED and nothing is recorded', async () => {
    const before = await eventCount(t);

    expect(await grantOnce(t.ledger.tcpPort, withCertificate(pki.ca, pki.client('unlisted.example')))).toEqual({
      outcome: 'refused',
      reason: 'AUTH.UNAUTHENTICATED',
    });
    expect(await eventCount(t)).toBe(before);
  });

  it('given a mapped client certificate whose principal lacks the role, then the command is refused with AUTH.FORBIDDEN', async () => {
    const before = await eventCount(t);

    expect(await grantOnce(t.ledger.tcpPort, withCertificate(pki.ca, pki.client('reader.example')))).toEqual({
      outcome: 'refused',
      reason: 'AUTH.FORBIDDEN',
    });
    expect(await eventCount(t)).toBe(before);
  });

  it('given the LedgerClient with its tls option (file paths), then its command is acknowledged', async () => {
    const gateway = pki.client('gateway.example');
    const spoolDir = mkdtempSync(join(pki.dir, 'spool-'));
    const ledgerClient = new LedgerClient({
      host: '127.0.0.1',
      port: t.ledger.tcpPort,
      tls: { ca: pki.ca.certFile, cert: gateway.certFile, key: gateway.keyFile, servername: 'localhost' },
      spoolDir,
      backgroundDrain: false,
      logger: silentLogger,
    });
    try {
      expect(await ledgerClient.grantApproval(anApproval())).toMatchObject({
        status: 'acknowledged',
        ack: { duplicate: false },
      });
    } finally {
      await ledgerClient.close();
    }
  });

  it('given the connection cap is full of handshakes that never complete, then a further connection is closed before its handshake, and served once they leave', async () => {
    const stalled = await Promise.all(Array.from({ length: 8 }, () => connectRaw(t.ledger.tcpPort)));
    try {
      const right = withCertificate(pki.ca, pki.client('gateway.example'));
      expect(await grantOnce(t.ledger.tcpPort, right)).toMatchObject({ outcome: 'refused' });
      expect(stalled.filter((c) => c.isClosed()).length).toBeGreaterThanOrEqual(2); // 8 > the cap of 6
    } finally {
      for (const c of stalled) c.destroy();
    }
    await Promise.all(stalled.map((c) => c.closed));
    // Once the ledger has seen them close, a new connection is served again.
    const served = await within(10_000, 'a TLS connection served after the stalled ones left', async () => {
      const attempt = await grantOnce(t.ledger.tcpPort, withCertificate(pki.ca, pki.client('gateway.example')));
      return attempt.outcome === 'served' ? attempt : undefined;
    });
    expect(served.ack).toMatchObject({ duplicate: false });
  });

  it('given TLS is configured, then the HTTP API answers over HTTPS with the same certificate, and not over plain HTTP', async () => {
    expect(await get(t.ledger.httpPort, '/health', pki.ca.cert)).toEqual({ status: 200 });
    expect(await get(t.ledger.httpPort, '/health')).toMatchObject({ error: expect.any(String) });
  });
});

describeWithOpenssl('TLS on the TCP transport, client certificates optional; limits and deadlines over TLS', () => {
  let pki: TestPki;
  let t: LedgerUnderTest;
  beforeAll(async () => {
    pki = createTestPki();
    t = await startLedgerUnderTest({
      tlsCertFile: pki.server.certFile,
      tlsKeyFile: pki.server.keyFile,
      tlsCaFile: pki.ca.certFile,
      tlsClientCert: 'optional',
      tlsHandshakeTimeoutMs: 500,
      tcpMaxFrameBytes: 64 * 1024,
      tcpMaxBufferedBytes: 1024 * 1024,
      tcpFrameTimeoutMs: 1_000,
      tcpIdleTimeoutMs: 1_500,
      httpHeadersTimeoutMs: 1_000,
      httpRequestTimeoutMs: 2_000,
      checkpointsEnabled: false,
    });
  });
  afterAll(async () => {
    await t?.stop();
    pki?.remove();
  });

  it('given an HTTPS client trickling its request headers, then the HTTP deadlines still close it', async () => {
    const socket = connectTls({ host: '127.0.0.1', port: t.ledger.httpPort, ca: pki.ca.cert, servername: 'localhost' });
    socket.on('error', () => undefined);
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    await new Promise<void>((resolve) => socket.once('secureConnect', () => resolve()));
    const headers = 'GET /health HTTP/1.1\r\nHost: ledger\r\nX-Slow: ' + 'a'.repeat(500) + '\r\n\r\n';
    let sent = 0;
    const trickle = setInterval(() => socket.write(headers.slice(sent, ++sent)), 100);
    try {
      expect(await settlesWithin(closed, 20_000)).toBe(true);
      expect(sent).toBeLessThan(headers.length);
    } finally {
      clearInterval(trickle);
      socket.destroy();
    }
  });

  it('given a client without a certificate, then it is served on its API key', async () => {
    expect(await grantOnce(t.ledger.tcpPort, withCertificate(pki.ca), t.credentials.gateway)).toMatchObject({
      outcome: 'served',
    });
  });

  it('given a client certificate the CA did not issue, then it is refused with TCP.CLIENT_CERT_REFUSED, not taken as none', async () => {
    const before = await eventCount(t);

    const attempt = await grantOnce(
      t.ledger.tcpPort,
      withCertificate(pki.ca, pki.otherClient('gateway.example')),
      t.credentials.gateway,
    );

    expect(attempt).toEqual({ outcome: 'refused', reason: 'TCP.CLIENT_CERT_REFUSED' });
    expect(await eventCount(t)).toBe(before);
  });

  it('given a connection that never starts its TLS handshake, then it is closed at the handshake deadline', async () => {
    const connection = await connectRaw(t.ledger.tcpPort);

    expect(await settlesWithin(connection.closed, 20_000)).toBe(true);
    expect(connection.replies).toEqual([]);
  });

  it('given a frame announcing more than the maximum over TLS, then it is refused with TCP.FRAME_TOO_LARGE', async () => {
    const connection = await connectRaw(t.ledger.tcpPort, withCertificate(pki.ca));
    await connection.write('999999999#');

    expect(errorCode(await connection.nextReply())).toBe('TCP.FRAME_TOO_LARGE');
    expect(await settlesWithin(connection.closed, 10_000)).toBe(true);
  });

  it('given TLS connections buffering more partial frames than the budget holds, then the rest are told TCP.BUSY', async () => {
    const connections = await Promise.all(
      Array.from({ length: 30 }, () => connectRaw(t.ledger.tcpPort, withCertificate(pki.ca))),
    );
    try {
      const body = Buffer.alloc(60 * 1024, 'x'); // 30 × 60 KiB against a budget of 1 MiB
      await Promise.all(connections.map((c) => c.write(`${64 * 1024}#"`).then(() => c.write(body))));
      const busy = await within(20_000, 'connections beyond the budget told the ledger is busy', () => {
        const told = connections.filter((c) => errorCode(c.replies[0]) === 'TCP.BUSY');
        return told.length >= 30 - Math.floor((1024 * 1024) / body.length) ? told : undefined;
      });
      expect(busy.length).toBeGreaterThan(0);
    } finally {
      for (const c of connections) c.destroy();
    }
  });

  it('given a frame never completed over TLS, then it is refused at the frame deadline', async () => {
    const connection = await connectRaw(t.ledger.tcpPort, withCertificate(pki.ca));
    await connection.write('100#{"pattern":"approvals.grant"');

    expect(errorCode(await connection.nextReply(() => true, 20_000))).toBe('TCP.FRAME_TIMEOUT');
    expect(await settlesWithin(connection.closed, 10_000)).toBe(true);
  });

  it('given a TLS connection that sends nothing after its handshake, then it is closed as idle', async () => {
    const connection = await connectRaw(t.ledger.tcpPort, withCertificate(pki.ca));

    expect(errorCode(await connection.nextReply(() => true, 20_000))).toBe('TCP.IDLE_TIMEOUT');
    expect(await settlesWithin(connection.closed, 10_000)).toBe(true);
  });
});

describeWithOpenssl('starting without TLS beyond loopback, or with key files open to others, is refused', () => {
  let pki: TestPki;
  beforeAll(() => {
    pki = createTestPki();
  });
  afterAll(() => pki?.remove());
  // Checked before the database is touched: this URL is never connected to.
  const base = {
    databaseUrl: 'postgres://nobody@127.0.0.1:1/none',
    logLevel: 'silent' as const,
    tcpPort: 0,
    httpPort: 0,
  };

  it.each([
    ['the TCP transport', { tcpHost: '0.0.0.0' }, 'LEDGER_TCP_HOST=0.0.0.0'],
    ['the HTTP API', { httpHost: '::' }, 'LEDGER_HTTP_HOST=::'],
  ])(
    'given %s on a non-loopback address without TLS, then the ledger refuses to start saying what to set',
    async (_, hosts, named) => {
      const start = startLedger({ ...base, ...hosts });

      await expect(start).rejects.toMatchObject({ code: 'CONFIG.PLAINTEXT_EXPOSURE' });
      await expect(start).rejects.toThrow(named);
      await expect(start).rejects.toThrow('LEDGER_TLS_CERT_FILE and LEDGER_TLS_KEY_FILE');
    },
  );

  it('given a TLS key file readable by others, then the ledger refuses to start naming the file and the fix', async () => {
    const key = join(pki.dir, 'open.key');
    writeFileSync(key, pki.server.key);
    chmodSync(key, 0o644);
    const start = startLedger({ ...base, tlsCertFile: pki.server.certFile, tlsKeyFile: key });

    await expect(start).rejects.toMatchObject({ code: 'CONFIG.INSECURE_FILE' });
    await expect(start).rejects.toThrow(`chmod 600 ${key}`);
  });

  it('given a client-certificate principals file with an unknown role, then the ledger refuses to start naming it', async () => {
    const principals = join(pki.dir, 'bad-principals.json');
    writeFileSync(principals, JSON.stringify([{ cn: 'gw', name: 'gw', roles: ['root'] }]));
    const start = startLedger({
      ...base,
      tlsCertFile: pki.server.certFile,
      tlsKeyFile: pki.server.keyFile,
      tlsCaFile: pki.ca.certFile,
      tlsClientCert: 'optional',
      tlsClientPrincipalsFile: principals,
    });

    await expect(start).rejects.toMatchObject({ code: 'CONFIG.INVALID' });
    await expect(start).rejects.toThrow(`LEDGER_TLS_CLIENT_PRINCIPALS_FILE=${principals}`);
  });

  it('given a client CA file writable by others, then the ledger refuses to start', async () => {
    const ca = join(pki.dir, 'open-ca.crt');
    writeFileSync(ca, pki.ca.cert);
    chmodSync(ca, 0o666);
    const start = startLedger({
      ...base,
      tlsCertFile: pki.server.certFile,
      tlsKeyFile: pki.server.keyFile,
      tlsCaFile: ca,
      tlsClientCert: 'required',
    });

    await expect(start).rejects.toMatchObject({ code: 'CONFIG.INSECURE_FILE' });
  });
});
