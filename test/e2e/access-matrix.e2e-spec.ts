import { MESSAGE_PATTERNS, ROLES, type Principal, type Role } from '@audit-ledger/domain';
import { Controller, Get, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, NestFactory } from '@nestjs/core';
import { PATTERN_METADATA } from '@nestjs/microservices/constants.js';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { ClientProxy } from '@nestjs/microservices';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { firstValueFrom } from 'rxjs';
import {
  ACCESS_METADATA,
  ACCESS_REFUSED,
  AccessGuard,
  AccessRefusals,
  AUTHENTICATOR,
  UnauthenticatedError,
  type Access,
} from '../../apps/ledger/src/index.js';
import { LEDGER_CONTROLLERS } from '../../apps/ledger/src/app.module.js';
import { PrincipalRateLimiter } from '../../apps/ledger/src/identity/rate-limit/principal-rate-limiter.js';
import { createLogger } from '../../apps/ledger/src/logging/logger.js';
import { LedgerExceptionFilter } from '../../apps/ledger/src/shared/ledger-exception.filter.js';
import { CLOCK, EVENT_STORE, LOGGER, systemClock } from '../../apps/ledger/src/shared/tokens.js';
import { anApproval, anExecution } from '../support/fixtures.js';
import { natsClientAs, startLedgerUnderTest, tcpClientAs, type LedgerUnderTest } from '../support/ledger-app.js';
import { RawTcpClient } from '../support/raw-tcp-client.js';
import { reachable } from '../support/reachable.js';
import { settledFingerprint, storeFingerprint } from '../support/store-fingerprint.js';
import type { TestCaller } from '../support/test-credentials.js';

/**
 * Issue 11's access matrix: who may call what, written down here independently of the declarations next to the
 * routes. Every route the app registers and every message pattern must be in it (a new one fails this test until it
 * is declared and listed), and every caller gets what the matrix says: allowed, 401 without a credential, 403 without
 * the role, with the store unchanged when refused.
 */
type Expected = 'public' | readonly Role[];

const GATEWAY = ['gateway'] as const;
const READER = ['reader'] as const; // security includes reader
const SECURITY = ['security'] as const;
const ADMIN = ['admin'] as const;

const HTTP_MATRIX: Record<string, Expected> = {
  'POST /v1/approvals': GATEWAY,
  'POST /v1/approvals/:approvalId/reject': GATEWAY,
  'POST /v1/approvals/:approvalId/revoke': GATEWAY,
  'POST /v1/executions': GATEWAY,
  'GET /v1/streams/:streamId': READER,
  'GET /v1/streams/:streamId/events': SECURITY,
  'GET /health': 'public',
  'GET /health/live': 'public',
  'GET /health/ready': 'public',
  'GET /health/workers': 'public',
  'GET /metrics': READER,
  'POST /v1/mismatches/:mismatchId/review': SECURITY,
  'GET /v1/reconciliation/status': READER,
  'POST /v1/reconciliation/rerun': SECURITY,
  'GET /v1/reconciliation/reruns': SECURITY,
  'GET /v1/reconciliation/reruns/:id': SECURITY,
  'DELETE /v1/reconciliation/reruns/:id': SECURITY,
  'GET /v1/alerts/stream': READER,
  'GET /v1/integrity': READER,
  'GET /v1/evidence': SECURITY,
  'GET /v1/approvals': READER,
  'GET /v1/approvals/:approvalId': READER,
  'GET /v1/executions': READER,
  'GET /v1/executions/export': READER,
  'GET /v1/executions/:executionId': READER,
  'GET /v1/mismatches': READER,
  'GET /v1/mismatches/export': READER,
  'GET /v1/mismatches/stream': READER,
  'GET /v1/approvals/export': READER,
  'GET /v1/sessions': READER,
  'GET /v1/sessions/:sessionId': READER,
  'GET /v1/dashboard/overview': READER,
  'GET /v1/whoami': ROLES,
  'POST /v1/integrity/verify': SECURITY,
  'GET /v1/summaries': READER,
  'POST /v1/principals/keys': ADMIN,
  'GET /v1/principals/keys': ADMIN,
  'POST /v1/principals/keys/:keyId/rotate': ADMIN,
  'POST /v1/principals/keys/:keyId/revoke': ADMIN,
  // the guard lets either role through; the erasure decider then requires both (ERASURE.FORBIDDEN)
  'POST /v1/erasures/approvals': ['security', 'admin'],
};

/** Served by the Swagger module, not by a controller: the API's description, no audit data. */
const DOCUMENTATION = /^\/docs(?:$|[/-])/;
/** The dashboard's static files (docs/dashboard.md): no audit data; it reads the API with its user's credential. */
const DASHBOARD = /^\/\*?$/;

const PATTERN_MATRIX: Record<string, Expected> = {
  [MESSAGE_PATTERNS.grantApproval]: GATEWAY,
  [MESSAGE_PATTERNS.rejectApproval]: GATEWAY,
  [MESSAGE_PATTERNS.revokeApproval]: GATEWAY,
  [MESSAGE_PATTERNS.logExecution]: GATEWAY,
};

/** Each role alone, and no credential. */
const CALLERS: readonly (Role | 'none')[] = [...ROLES, 'none'];

const allows = (expected: Expected, caller: Role | 'none'): boolean =>
  expected === 'public' ||
  (caller !== 'none' && (expected.includes(caller) || (caller === 'security' && expected.includes('reader'))));

const expectedStatus = (expected: Expected, caller: Role | 'none'): 'allowed' | 401 | 403 =>
  allows(expected, caller) ? 'allowed' : caller === 'none' ? 401 : 403;

const IGNORE_REFUSAL_RECORDS = { ignoreTypes: [ACCESS_REFUSED] };

describe('access matrix: every route and pattern × every role and no credential', () => {
  let t: LedgerUnderTest;
  const approval = anApproval();
  const executionId = `${approval.approvalId}-x1`;

  beforeAll(async () => {
    t = await startLedgerUnderTest({ checkpointsEnabled: false, projectionsEnabled: true });
    expect((await t.http('POST', '/v1/approvals', approval)).status).toBe(201);
    expect(
      (await t.http('POST', '/v1/executions', anExecution({ approvalId: approval.approvalId, executionId }))).status,
    ).toBe(201);
  });
  afterAll(() => t?.stop());

  const credentialOf = (caller: Role | 'none'): string | null => (caller === 'none' ? null : t.credentials[caller]);

  /** A concrete request for a route: a valid one where possible, so a refusal that failed would change the store. */
  function requestFor(method: string, route: string): { path: string; body?: unknown } {
    const path = route
      .replace(':approvalId', approval.approvalId)
      .replace(':streamId', `approval-${approval.approvalId}`)
      .replace(':executionId', executionId)
      .replace(':mismatchId', 'no-such-mismatch')
      .replace(':id', 'no-such-job')
      .replace(':keyId', 'nosuchkey000')
      .replace('*', 'index.html');
    const key = `${method} ${route}`;
    if (key === 'POST /v1/approvals') return { path, body: anApproval() };
    if (key === 'POST /v1/executions') return { path, body: anExecution({ approvalId: approval.approvalId }) };
    if (key.endsWith('/reject') || key.endsWith('/revoke')) return { path, body: { by: 'bob', reason: 'matrix' } };
    if (key.endsWith('/review'))
      return { path, body: { streamId: `approval-${approval.approvalId}`, resolution: 'confirmed' } };
    if (key === 'POST /v1/reconciliation/rerun') return { path, body: { since: '999999999' } };
    if (key === 'POST /v1/principals/keys')
      return { path, body: { name: `matrix-${randomUUID()}`, roles: ['reader'] } };
    if (key.startsWith('POST /v1/principals/keys/')) return { path, body: {} };
    if (key === 'GET /v1/evidence') return { path: `${path}?approvalId=${approval.approvalId}` };
    return { path };
  }

  async function call(
    method: string,
    route: string,
    caller: Role | 'none',
  ): Promise<{ status: number; code?: string }> {
    const { path, body } = requestFor(method, route);
    const credential = credentialOf(caller);
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(new Error(`${method} ${path} as ${caller}: no answer`)), 10_000);
    const response = await fetch(`http://127.0.0.1:${t.ledger.httpPort}${path}`, {
      method,
      signal: abort.signal,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(credential === null ? {} : { authorization: `Bearer ${credential}` }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    clearTimeout(timer);
    if (response.headers.get('content-type')?.startsWith('text/event-stream')) {
      abort.abort(); // the alert stream never ends: its answering is what counts
      return { status: response.status };
    }
    const text = await response.text();
    const parsed =
      text && response.headers.get('content-type')?.includes('json') ? (JSON.parse(text) as unknown) : undefined;
    return { status: response.status, code: (parsed as { error?: { code?: string } } | undefined)?.error?.code };
  }

  const matrixOf = (method: string, url: string): Expected | undefined =>
    DOCUMENTATION.test(url) || DASHBOARD.test(url)
      ? 'public'
      : HTTP_MATRIX[`${method === 'HEAD' ? 'GET' : method} ${url}`];

  it('lists every route the app registered and every message pattern (a new one must be added, declared)', () => {
    const unlisted = t.ledger.httpRoutes.filter(({ method, url }) => matrixOf(method, url) === undefined);
    expect(unlisted).toEqual([]);
    const registered = new Set(t.ledger.httpRoutes.map(({ method, url }) => `${method} ${url}`));
    expect(Object.keys(HTTP_MATRIX).filter((key) => !registered.has(key))).toEqual([]);
    expect(Object.values(MESSAGE_PATTERNS).filter((pattern) => !(pattern in PATTERN_MATRIX))).toEqual([]);
  });

  it('finds a declaration next to every handler of every controller, as the matrix has it', () => {
    const found: Record<string, Access | undefined> = {};
    for (const controller of LEDGER_CONTROLLERS) {
      const prototype = controller.prototype as unknown as Record<string, unknown>;
      for (const name of Object.getOwnPropertyNames(prototype)) {
        const handler = prototype[name];
        if (name === 'constructor' || typeof handler !== 'function') continue;
        const isRoute = Reflect.getMetadata('method', handler) !== undefined;
        const pattern = Reflect.getMetadata(PATTERN_METADATA, handler) as unknown;
        if (!isRoute && pattern === undefined) continue;
        found[`${controller.name}.${name}`] =
          (Reflect.getMetadata(ACCESS_METADATA, handler) as Access | undefined) ??
          (Reflect.getMetadata(ACCESS_METADATA, controller) as Access | undefined);
      }
    }
    expect(Object.keys(found).length).toBeGreaterThan(20);
    expect(Object.entries(found).filter(([, access]) => access === undefined)).toEqual([]);
  });

  it('refuses every caller the matrix refuses (401 without a credential, 403 without the role), changing nothing', async () => {
    const before = await settledFingerprint(t, IGNORE_REFUSAL_RECORDS);
    const wrong: string[] = [];
    for (const { method, url } of t.ledger.httpRoutes) {
      const expected = matrixOf(method, url)!;
      for (const caller of CALLERS) {
        const want = expectedStatus(expected, caller);
        if (want === 'allowed') continue;
        const got = await call(method, url, caller);
        const code = want === 401 ? 'AUTH.UNAUTHENTICATED' : 'AUTH.FORBIDDEN';
        if (got.status !== want || (method !== 'HEAD' && got.code !== code)) {
          wrong.push(`${method} ${url} as ${caller}: ${got.status} ${got.code ?? ''}, expected ${want}`);
        }
      }
    }
    for (const [pattern, expected] of Object.entries(PATTERN_MATRIX)) {
      for (const caller of CALLERS) {
        const want = expectedStatus(expected, caller);
        if (want === 'allowed') continue;
        const code = want === 401 ? 'AUTH.UNAUTHENTICATED' : 'AUTH.FORBIDDEN';
        const got = await sendOver(tcpClientAs(t.ledger.tcpPort, credentialOf(caller)), pattern);
        if (got !== code) wrong.push(`TCP ${pattern} as ${caller}: ${got}, expected ${code}`);
      }
    }
    expect(wrong).toEqual([]);
    expect(await storeFingerprint(t, IGNORE_REFUSAL_RECORDS)).toEqual(before);
  });

  it('lets through every caller the matrix allows (to validation or the handler: never 401, 403 or 500)', async () => {
    const wrong: string[] = [];
    for (const { method, url } of t.ledger.httpRoutes) {
      const expected = matrixOf(method, url)!;
      for (const caller of CALLERS) {
        if (expectedStatus(expected, caller) !== 'allowed') continue;
        const got = await call(method, url, caller);
        if ([401, 403].includes(got.status) || got.status >= 500) {
          wrong.push(`${method} ${url} as ${caller}: ${got.status} ${got.code ?? ''}`);
        }
      }
    }
    for (const [pattern, expected] of Object.entries(PATTERN_MATRIX)) {
      for (const caller of CALLERS) {
        if (expectedStatus(expected, caller) !== 'allowed') continue;
        const got = await sendOver(tcpClientAs(t.ledger.tcpPort, credentialOf(caller)), pattern);
        if (got?.startsWith('AUTH.') || got === 'INTERNAL') wrong.push(`TCP ${pattern} as ${caller}: ${got}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('refuses an unknown credential and a malformed Authorization header with the reason', async () => {
    const response = await fetch(`http://127.0.0.1:${t.ledger.httpPort}/v1/approvals`, {
      headers: { authorization: 'Bearer alk_unknown_key' },
    });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({
      error: { code: 'AUTH.UNAUTHENTICATED', message: expect.any(String) },
    });
    const malformed = await fetch(`http://127.0.0.1:${t.ledger.httpPort}/v1/approvals`, {
      headers: { authorization: `Basic ${t.credentials.reader}` },
    });
    expect(malformed.status).toBe(401);
    expect(await malformed.json()).toMatchObject({ error: { message: expect.stringContaining('Bearer') } });
    expect(await sendOver(tcpClientAs(t.ledger.tcpPort, 'alk_unknown_key'), MESSAGE_PATTERNS.grantApproval)).toBe(
      'AUTH.UNAUTHENTICATED',
    );
  });

  it('over TCP, a packet whose data is not an object has no credential: 401, before validation', async () => {
    const raw = await RawTcpClient.connect(t.ledger.tcpPort, t.credentials.gateway);
    try {
      const reply = await raw.send(MESSAGE_PATTERNS.grantApproval, '"not an object"');
      expect(reply.err).toMatchObject({ error: { code: 'AUTH.UNAUTHENTICATED' } });
      const withObject = await raw.send(MESSAGE_PATTERNS.grantApproval, '{"approvalId":1}');
      expect(withObject.err).toMatchObject({ error: { code: 'VALIDATION.FAILED' } });
    } finally {
      raw.close();
    }
  });

  it('counts the refusals (in /health) and records them, at most one event per reason and entrance a second', async () => {
    const before = (await t.http('GET', '/health', undefined, undefined, { credential: null })).body as {
      accessRefusals: Record<string, Record<string, number>>;
    };
    const flood = 60;
    await Promise.all(
      Array.from({ length: flood }, () =>
        t.http('GET', '/v1/summaries', undefined, undefined, { credential: t.credentials.gateway }),
      ),
    );
    const after = (await t.http('GET', '/health', undefined, undefined, { credential: null })).body as typeof before;
    expect(after.accessRefusals['AUTH.FORBIDDEN']!.http! - (before.accessRefusals['AUTH.FORBIDDEN']?.http ?? 0)).toBe(
      flood,
    );
    // Every refusal is in the records' counts once the rate limit's window has closed; far fewer events than refusals.
    const recorded = async () =>
      t.sql<{ events: string; refusals: string }>(
        `SELECT count(*)::text AS events, coalesce(sum((data->>'count')::int), 0)::text AS refusals
           FROM ledger.events WHERE type = $1 AND data->>'code' = 'AUTH.FORBIDDEN' AND data->>'entrance' = 'http'`,
        [ACCESS_REFUSED],
      );
    const total = after.accessRefusals['AUTH.FORBIDDEN']!.http!;
    let rows = await recorded();
    for (let i = 0; i < 100 && Number(rows[0]!.refusals) < total; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      rows = await recorded();
    }
    expect(Number(rows[0]!.refusals)).toBe(total);
    expect(Number(rows[0]!.events)).toBeLessThan(flood);
  });
});

describe('every actor is the authenticated principal', () => {
  let t: LedgerUnderTest;
  beforeAll(async () => {
    t = await startLedgerUnderTest({ checkpointsEnabled: false });
  });
  afterAll(() => t?.stop());

  const actorOf = async (streamId: string): Promise<unknown> =>
    (
      await t.sql<{ actor: unknown }>(`SELECT metadata->'actor' AS actor FROM ledger.events WHERE stream_id = $1`, [
        streamId,
      ])
    )[0]?.actor;

  it('over HTTP, an x-ledger-actor header does not name the actor of a command', async () => {
    const approval = anApproval();
    const response = await fetch(`http://127.0.0.1:${t.ledger.httpPort}/v1/approvals`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-ledger-actor': 'mallory', ...t.headers('gateway') },
      body: JSON.stringify(approval),
    });
    expect(response.status).toBe(201);
    expect(await actorOf(`approval-${approval.approvalId}`)).toBe(t.credentials.actors.gateway);
  });

  it('over TCP, packet members beside auth (metadata, actor) do not name the actor, and an actor in the data is refused', async () => {
    const raw = await RawTcpClient.connect(t.ledger.tcpPort, null);
    try {
      const approval = anApproval();
      const auth = JSON.stringify(t.credentials.gateway);
      const forged = `"metadata":{"actor":"mallory"},"actor":"mallory","auth":${auth}`;
      const reply = await raw.sendWith(MESSAGE_PATTERNS.grantApproval, JSON.stringify(approval), forged);
      expect(reply.err).toBeUndefined();
      expect(await actorOf(`approval-${approval.approvalId}`)).toBe(t.credentials.actors.gateway);
      const inData = anApproval();
      const refused = await raw.sendWith(
        MESSAGE_PATTERNS.grantApproval,
        JSON.stringify({ ...inData, actor: 'mallory' }),
        `"auth":${auth}`,
      );
      expect(refused.err).toMatchObject({ error: { code: 'VALIDATION.FAILED' } });
      expect(await actorOf(`approval-${inData.approvalId}`)).toBeUndefined();
    } finally {
      raw.close();
    }
  });

  it('a re-reconciliation job is requested by its principal, whatever a header says', async () => {
    const response = await fetch(`http://127.0.0.1:${t.ledger.httpPort}/v1/reconciliation/rerun`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-ledger-actor': 'mallory', ...t.headers('security') },
      body: JSON.stringify({ since: '999999999' }),
    });
    expect(response.status).toBe(202);
    expect(await response.json()).toMatchObject({ requestedBy: t.credentials.actors.security });
  });
});

describe('a connection that proves its principal (the CONNECTION_PRINCIPAL hook, e.g. TLS client certificates)', () => {
  let t: LedgerUnderTest;
  const certified: Principal = { id: 'cert:gw-1', kind: 'certificate', name: 'gw-1', roles: ['gateway'] };
  beforeAll(async () => {
    // Here every TCP connection proves gw-1; the TLS helper maps client certificates instead.
    t = await startLedgerUnderTest(
      { checkpointsEnabled: false },
      { connectionPrincipal: (context) => (context.getType() === 'rpc' ? certified : undefined) },
    );
  });
  afterAll(() => t?.stop());

  it("lets a packet without auth through as the connection's principal, and records it as the actor", async () => {
    const approval = anApproval();
    expect(await sendOver(tcpClientAs(t.ledger.tcpPort, null), MESSAGE_PATTERNS.grantApproval, approval)).toBe('ok');
    const [row] = await t.sql<{ actor: string }>(
      `SELECT metadata->>'actor' AS actor FROM ledger.events WHERE stream_id = $1`,
      [`approval-${approval.approvalId}`],
    );
    expect(row?.actor).toBe('cert:gw-1');
  });

  it('still judges a credential sent with the packet by itself (it wins over the connection)', async () => {
    expect(await sendOver(tcpClientAs(t.ledger.tcpPort, t.credentials.reader), MESSAGE_PATTERNS.grantApproval)).toBe(
      'AUTH.FORBIDDEN',
    );
    expect(await t.http('GET', '/v1/summaries', undefined, undefined, { credential: null })).toMatchObject({
      status: 401,
    });
  });
});

const natsUrl = process.env.LEDGER_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
const natsAvailable = await reachable(new URL(natsUrl).hostname, Number(new URL(natsUrl).port));
if (!natsAvailable) process.stderr.write(`[skip] access matrix over NATS: no NATS server answers at ${natsUrl}\n`);

(natsAvailable ? describe : describe.skip)('access matrix over NATS (header authorization)', () => {
  let t: LedgerUnderTest;
  beforeAll(async () => {
    t = await startLedgerUnderTest({ transport: 'nats', natsUrl, checkpointsEnabled: false });
  });
  afterAll(() => t?.stop());

  it('allows, or refuses with 401 or 403, every pattern × every role and no credential, changing nothing when refused', async () => {
    const before = await storeFingerprint(t, IGNORE_REFUSAL_RECORDS);
    const wrong: string[] = [];
    for (const [pattern, expected] of Object.entries(PATTERN_MATRIX)) {
      for (const caller of CALLERS) {
        const want = expectedStatus(expected, caller);
        if (want === 'allowed') continue;
        const got = await sendOver(natsClientAs(natsUrl, caller === 'none' ? null : t.credentials[caller]), pattern);
        const code = want === 401 ? 'AUTH.UNAUTHENTICATED' : 'AUTH.FORBIDDEN';
        if (got !== code) wrong.push(`NATS ${pattern} as ${caller}: ${got}, expected ${code}`);
      }
    }
    expect(wrong).toEqual([]);
    expect(await storeFingerprint(t, IGNORE_REFUSAL_RECORDS)).toEqual(before);
    const allowed = await sendOver(natsClientAs(natsUrl, t.credentials.gateway), MESSAGE_PATTERNS.grantApproval);
    expect(allowed).toBe('ok');
  });
});

/** Sends a valid command for the pattern and closes the client; the error code, or `ok`. */
async function sendOver(client: ClientProxy, pattern: string, approval = anApproval()): Promise<string | undefined> {
  const payload =
    pattern === MESSAGE_PATTERNS.grantApproval
      ? approval
      : pattern === MESSAGE_PATTERNS.logExecution
        ? anExecution({ approvalId: approval.approvalId })
        : { approvalId: approval.approvalId, by: 'bob', reason: 'matrix' };
  try {
    await firstValueFrom(client.send(pattern, payload));
    return 'ok';
  } catch (error) {
    return (error as { error?: { code?: string } }).error?.code ?? String(error);
  } finally {
    await client.close();
  }
}

@Controller('undeclared')
class UndeclaredController {
  @Get()
  get() {
    return { reached: true };
  }
}

@Module({
  controllers: [UndeclaredController],
  providers: [
    // Never called: an undeclared route is refused before any credential is looked at.
    { provide: AUTHENTICATOR, useValue: { authenticate: () => Promise.reject(new UnauthenticatedError('unused')) } },
    // Nor are the refusal records reached.
    { provide: EVENT_STORE, useValue: null },
    { provide: LOGGER, useValue: createLogger('silent') },
    { provide: APP_FILTER, useClass: LedgerExceptionFilter },
    { provide: CLOCK, useValue: systemClock },
    AccessRefusals,
    { provide: PrincipalRateLimiter, useValue: new PrincipalRateLimiter({ perSecond: 1000, burst: 1000 }) },
    { provide: APP_GUARD, useClass: AccessGuard },
  ],
})
class UndeclaredRouteModule {}

describe('a route added without a declaration', () => {
  it('is refused by the guard (500 AUTH.UNDECLARED_ACCESS), whoever calls', async () => {
    const app = await NestFactory.create<NestFastifyApplication>(UndeclaredRouteModule, new FastifyAdapter(), {
      logger: false,
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const port = (app.getHttpServer().address() as AddressInfo).port;
      const callers: (TestCaller | null)[] = ['all', 'admin', null];
      for (const caller of callers) {
        const response = await fetch(`http://127.0.0.1:${port}/undeclared`, {
          headers: caller === null ? {} : { authorization: `Bearer ${caller}` },
        });
        expect(response.status).toBe(500);
        expect(await response.json()).toMatchObject({ error: { code: 'AUTH.UNDECLARED_ACCESS' } });
      }
    } finally {
      await app.close();
    }
  });
});
