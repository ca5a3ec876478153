import type { Principal } from '@audit-ledger/domain';
import { writeFileSync } from 'node:fs';
import { connect as connectPlain, createServer as createPlainServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { connect, createServer, type Server, type TLSSocket } from 'node:tls';
import {
  createTestPki,
  opensslAvailable,
  type CertificateFiles,
  type TestPki,
} from '../../../test/support/test-certificates.js';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import { JsonSocket, TcpContext } from '@nestjs/microservices';
import {
  CertificatePrincipalsFileError,
  loadCertificatePrincipals,
  tcpConnectionPrincipal,
  type CertificatePrincipalOf,
} from '../src/tcp/client-certificate.js';

const canRun = opensslAvailable();
if (!canRun) console.log('client certificate tests skipped: openssl is not installed (they generate certificates)');
const describeWithOpenssl = canRun ? describe : describe.skip;

describeWithOpenssl('client certificates → principals (LEDGER_TLS_CLIENT_PRINCIPALS_FILE)', () => {
  let pki: TestPki;
  let server: Server;
  let port: number;
  let principalOf: CertificatePrincipalOf;
  /** The principal the server side saw for each connection, in order. */
  const seen: (Principal | undefined)[] = [];
  /** What `tcpConnectionPrincipal` gave for the same connection: for a TCP call, and for an HTTP one. */
  const seenByGuard: [Principal | undefined, Principal | undefined][] = [];

  beforeAll(async () => {
    pki = createTestPki();
    const principalsFile = join(pki.dir, 'principals.json');
    writeFileSync(
      principalsFile,
      JSON.stringify([
        { cn: 'gateway.example', name: 'gw-by-cn', roles: ['gateway'] },
        {
          sha256: pki.client('security.example').sha256.replace(/:/g, '').toLowerCase(),
          name: 'sec-by-fingerprint',
          roles: ['security', 'reader'],
        },
      ]),
    );
    principalOf = loadCertificatePrincipals(principalsFile);
    server = createServer(
      { cert: pki.server.cert, key: pki.server.key, ca: pki.ca.cert, requestCert: true, rejectUnauthorized: false },
      (socket) => {
        seen.push(principalOf(socket));
        // What the guards see: the call's RPC context holds Nest's socket wrapper of this TLS socket.
        const rpc = new ExecutionContextHost([{}, new TcpContext([new JsonSocket(socket), 'approvals.grant'])]);
        rpc.setType('rpc');
        const http = new ExecutionContextHost([{}, {}]);
        http.setType('http');
        seenByGuard.push([tcpConnectionPrincipal(principalOf)(rpc), tcpConnectionPrincipal(principalOf)(http)]);
        socket.end('done');
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    pki?.remove();
  });

  /** Connects with `client` (or no certificate) and returns what the server mapped it to. */
  async function principalFor(client?: CertificateFiles): Promise<Principal | undefined> {
    const before = seen.length;
    const socket: TLSSocket = connect({
      host: '127.0.0.1',
      port,
      ca: pki.ca.cert,
      servername: 'localhost',
      ...(client ? { cert: client.cert, key: client.key } : {}),
    });
    await new Promise<void>((resolve, reject) => {
      socket.on('data', () => undefined);
      socket.once('end', resolve);
      socket.once('error', reject);
    });
    socket.destroy();
    expect(seen.length).toBe(before + 1);
    return seen[before];
  }

  it('given a certificate whose subject CN is listed, then it is that principal', async () => {
    expect(await principalFor(pki.client('gateway.example'))).toEqual({
      id: 'cert:gw-by-cn',
      kind: 'certificate',
      name: 'gw-by-cn',
      roles: ['gateway'],
    });
  });

  it("given a TCP call on that connection, then the guards' connection principal is the certificate's, and none for HTTP", async () => {
    const principal = await principalFor(pki.client('gateway.example'));
    expect(seenByGuard.at(-1)).toEqual([principal, undefined]);
    expect(principal?.id).toBe('cert:gw-by-cn');
  });

  it('given a certificate whose SHA-256 fingerprint is listed (any case, colons or not), then it is that principal', async () => {
    expect(await principalFor(pki.client('security.example'))).toMatchObject({
      id: 'cert:sec-by-fingerprint',
      roles: ['security', 'reader'],
    });
  });

  it('given a valid certificate that the list does not name, then there is no principal', async () => {
    expect(await principalFor(pki.client('stranger.example'))).toBeUndefined();
  });

  it('given a certificate with a listed CN but issued by another CA, then there is no principal', async () => {
    expect(await principalFor(pki.otherClient('gateway.example'))).toBeUndefined();
  });

  it('given no client certificate, then there is no principal', async () => {
    expect(await principalFor()).toBeUndefined();
  });

  it('given a plain TCP socket, then there is no principal', async () => {
    const plain = createPlainServer();
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    const accepted = new Promise<Socket>((resolve) => plain.once('connection', resolve));
    const client = connectPlain((plain.address() as { port: number }).port, '127.0.0.1');
    const socket = await accepted;
    expect(principalOf(socket)).toBeUndefined();
    client.destroy();
    socket.destroy();
    await new Promise((resolve) => plain.close(resolve));
  });

  it.each([
    ['an unknown role', [{ cn: 'a', name: 'a', roles: ['root'] }], 'roles'],
    ['both cn and sha256', [{ cn: 'a', sha256: 'ab'.repeat(32), name: 'a', roles: ['reader'] }], 'exactly one'],
    ['a short fingerprint', [{ sha256: 'abcd', name: 'a', roles: ['reader'] }], '64 hex digits'],
    [
      'a CN listed twice',
      [
        { cn: 'a', name: 'a', roles: ['reader'] },
        { cn: 'a', name: 'b', roles: ['reader'] },
      ],
      'twice',
    ],
  ])('given a principals file with %s, then loading it fails naming the problem', (_, entries, reason) => {
    const file = join(pki.dir, 'bad-principals.json');
    writeFileSync(file, JSON.stringify(entries));
    expect(() => loadCertificatePrincipals(file)).toThrow(CertificatePrincipalsFileError);
    expect(() => loadCertificatePrincipals(file)).toThrow(reason);
  });
});
