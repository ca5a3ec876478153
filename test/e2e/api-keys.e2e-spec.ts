import { verifyChain } from '@audit-ledger/integrity';
import { localKeyFor } from '@audit-ledger/client';
import pg from 'pg';
import type { RunningLedger } from '../../apps/ledger/src/index.js';
import { toChained, type EventRow } from '../support/event-rows.js';
import { startTestLedger } from '../support/ledger-app.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { within } from '../support/within.js';

/** The acceptance bound of issue 11: a key revoked anywhere is refused by every instance within one second. */
const REVOCATION_BOUND_MS = 1_000;

interface Reply {
  status: number;
  body: Record<string, unknown>;
}

async function http(ledger: RunningLedger, method: string, path: string, key: string, body?: unknown): Promise<Reply> {
  const response = await fetch(`http://127.0.0.1:${ledger.httpPort}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** What the ledger's authenticator makes of a credential: the principal id, or the refusal's message. */
const authenticate = (ledger: RunningLedger, key: string): Promise<string> =>
  ledger.authenticator.authenticate(key).then(
    (principal) => principal.id,
    (error: unknown) => `refused: ${(error as Error).message}`,
  );

describe('API keys across two ledger instances on one database', () => {
  let database: TestDatabase;
  let pool: pg.Pool;
  let first: RunningLedger;
  let second: RunningLedger;
  let adminKey: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    first = await startTestLedger(database.url, { reconciliationEnabled: false });
    second = await startTestLedger(database.url, { reconciliationEnabled: false });
    adminKey = localKeyFor(first.config.dataDir, 'admin')!;
    pool = new pg.Pool({ connectionString: database.url, max: 1 });
  });
  afterAll(async () => {
    await pool.end();
    await second.close();
    await first.close();
    await database.drop();
  });

  const principalsRows = async () =>
    (await pool.query<EventRow>(`SELECT * FROM ledger.events WHERE stream_id = 'principals' ORDER BY stream_revision`))
      .rows;

  it('given a key issued through one instance, when it is revoked through that instance, then the other refuses it within a second', async () => {
    const issued = await http(first, 'POST', '/v1/principals/keys', adminKey, { name: 'gw-prod', roles: ['gateway'] });
    expect(issued.status).toBe(201);
    const key = issued.body.key as string;
    expect(key).toMatch(/^alk_[a-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
    const principalId = `key:gw-prod/${String(issued.body.keyId)}`;
    expect(issued.body).toMatchObject({ name: 'gw-prod', roles: ['gateway'], principalId });
    await within(REVOCATION_BOUND_MS, 'the second instance accepts the new key', async () =>
      (await authenticate(second, key)) === principalId ? true : undefined,
    );

    const revoked = await http(first, 'POST', `/v1/principals/keys/${String(issued.body.keyId)}/revoke`, adminKey, {
      reason: 'leaked in a log',
    });
    expect(revoked).toEqual({ status: 201, body: { keyId: issued.body.keyId, status: 'revoked' } });

    expect(await authenticate(first, key)).toMatch(/^refused: .*was revoked/);
    const refusal = await within(REVOCATION_BOUND_MS, 'the second instance refuses the revoked key', async () => {
      const answer = await authenticate(second, key);
      return answer.startsWith('refused') ? answer : undefined;
    });
    expect(refusal).toContain(`API key ${String(issued.body.keyId)} (gw-prod) was revoked`);
  });

  it('given a key revoked through the second instance, then the first refuses it within a second', async () => {
    const issued = await http(second, 'POST', '/v1/principals/keys', adminKey, { name: 'dash', roles: ['reader'] });
    expect(issued.status).toBe(201);
    const key = issued.body.key as string;
    await within(REVOCATION_BOUND_MS, 'the first instance accepts the new key', async () =>
      (await authenticate(first, key)).startsWith('key:dash/') ? true : undefined,
    );
    await second.apiKeyAdmin.revoke(issued.body.keyId as string, undefined, 'key:local-admin/test');
    await within(REVOCATION_BOUND_MS, 'the first instance refuses the revoked key', async () =>
      (await authenticate(first, key)).startsWith('refused') ? true : undefined,
    );
  });

  it('given a rotated key, then the successor authenticates as the same name and the old key is refused everywhere', async () => {
    const issued = await http(first, 'POST', '/v1/principals/keys', adminKey, { name: 'gw-rot', roles: ['gateway'] });
    const rotated = await http(first, 'POST', `/v1/principals/keys/${String(issued.body.keyId)}/rotate`, adminKey, {});
    expect(rotated.status).toBe(201);
    expect(rotated.body).toMatchObject({ name: 'gw-rot', roles: ['gateway'], rotatedFrom: issued.body.keyId });
    for (const ledger of [first, second]) {
      await within(REVOCATION_BOUND_MS, 'the successor is accepted and the old key refused', async () => {
        const [successor, old] = await Promise.all([
          authenticate(ledger, rotated.body.key as string),
          authenticate(ledger, issued.body.key as string),
        ]);
        return successor === `key:gw-rot/${String(rotated.body.keyId)}` && old.startsWith('refused') ? true : undefined;
      });
    }
  });

  it('records issue, rotate and revoke as hash-chained events of the principals stream, named by the admin, without keys', async () => {
    const rows = await principalsRows();
    expect(verifyChain(rows.map(toChained))).toBeNull();
    // The first start's three keys, once (the second instance found the stream), then the changes of the tests above.
    expect(rows.map((row) => row.type)).toEqual([
      'ApiKeyIssued',
      'ApiKeyIssued',
      'ApiKeyIssued',
      'ApiKeyIssued',
      'ApiKeyRevoked',
      'ApiKeyIssued',
      'ApiKeyRevoked',
      'ApiKeyIssued',
      'ApiKeyIssued',
      'ApiKeyRevoked',
    ]);
    expect(rows.slice(0, 3).map((row) => [row.data.name, row.metadata.actor])).toEqual([
      ['local-admin', 'system:bootstrap'],
      ['local-gateway', 'system:bootstrap'],
      ['local-security', 'system:bootstrap'],
    ]);
    const adminPrincipal = (await first.authenticator.authenticate(adminKey)).id;
    expect(rows[3]!.metadata.actor).toBe(adminPrincipal);
    expect(rows[4]!.data).toMatchObject({ reason: 'leaked in a log' });
    // Rotation: the successor names its predecessor, and the predecessor is revoked in the same append.
    expect(rows[8]!.data.rotatedFrom).toBe(rows[7]!.data.keyId);
    expect(rows[9]!.data.keyId).toBe(rows[7]!.data.keyId);
    const text = JSON.stringify(rows);
    expect(text).not.toMatch(/alk_[a-z0-9]{12}_/);
    for (const row of rows.filter((one) => one.type === 'ApiKeyIssued')) {
      expect(row.data.keyHash).toMatch(/^[0-9a-f]{64}$/);
    }
  });

  it('lists every key with its status, never a key or a hash', async () => {
    const listed = await http(second, 'GET', '/v1/principals/keys', adminKey);
    expect(listed.status).toBe(200);
    const keys = listed.body.keys as Record<string, unknown>[];
    expect(keys.map((key) => [key.name, key.status])).toEqual([
      ['local-admin', 'active'],
      ['local-gateway', 'active'],
      ['local-security', 'active'],
      ['gw-prod', 'revoked'],
      ['dash', 'revoked'],
      ['gw-rot', 'revoked'],
      ['gw-rot', 'active'],
    ]);
    expect(keys[3]).toMatchObject({
      revokeReason: 'leaked in a log',
      issuedBy: expect.stringMatching(/^key:local-admin\//),
    });
    expect(JSON.stringify(listed.body)).not.toMatch(/keyHash|alk_/);
  });

  it('refuses what the decider refuses: a name held by an active key, an unknown role, an unknown or revoked key', async () => {
    const taken = await http(first, 'POST', '/v1/principals/keys', adminKey, {
      name: 'local-gateway',
      roles: ['gateway'],
    });
    expect(taken).toMatchObject({ status: 409, body: { error: { code: 'PRINCIPALS.NAME_TAKEN' } } });
    const role = await http(first, 'POST', '/v1/principals/keys', adminKey, { name: 'x', roles: ['root'] });
    expect(role).toMatchObject({ status: 400, body: { error: { code: 'PRINCIPALS.UNKNOWN_ROLE' } } });
    const unknown = await http(first, 'POST', '/v1/principals/keys/aaaaaaaaaaaa/revoke', adminKey, {});
    expect(unknown).toMatchObject({ status: 404, body: { error: { code: 'PRINCIPALS.KEY_NOT_FOUND' } } });
    const gwProd = (await principalsRows())[3]!.data.keyId as string;
    const again = await http(first, 'POST', `/v1/principals/keys/${gwProd}/revoke`, adminKey, {});
    expect(again).toMatchObject({ status: 409, body: { error: { code: 'PRINCIPALS.KEY_REVOKED' } } });
  });

  it('refuses managing keys without an admin credential', async () => {
    const gatewayKey = localKeyFor(first.config.dataDir, 'gateway')!;
    const asGateway = await http(first, 'POST', '/v1/principals/keys', gatewayKey, { name: 'y', roles: ['admin'] });
    expect(asGateway).toMatchObject({ status: 403, body: { error: { code: 'AUTH.FORBIDDEN' } } });
    const bogus = await http(first, 'GET', '/v1/principals/keys', 'alk_aaaaaaaaaaaa_' + 'A'.repeat(43));
    expect(bogus).toMatchObject({ status: 401, body: { error: { code: 'AUTH.UNAUTHENTICATED' } } });
  });

  it('tells a malformed key, an unknown key and a JWT without OIDC apart', async () => {
    expect(await authenticate(first, 'alk_short')).toMatch(/^refused: malformed API key/);
    expect(await authenticate(first, 'alk_aaaaaaaaaaaa_' + 'A'.repeat(43))).toBe('refused: unknown API key');
    expect(await authenticate(first, 'eyJhbGciOiJIUzI1NiJ9.e30.x')).toMatch(/^refused: not an API key.*no OIDC issuer/);
  });
});
