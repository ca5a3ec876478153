import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { generateApi } from 'swagger-typescript-api';
import type { z } from 'zod';
import {
  ErrorResponseSchema,
  HealthSchema,
  IntegritySchema,
  ReconciliationStatusSchema,
  RerunJobListSchema,
  StreamReadSchema,
  StreamReplaySchema,
  WhoamiSchema,
  VerifyRunSchema,
} from '../../apps/ledger/src/openapi/response-schemas.js';
import { anApproval } from '../support/fixtures.js';
import { startLedgerUnderTest, type LedgerUnderTest } from '../support/ledger-app.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const RESOURCE_TAGS =
  /^(Approvals|Executions|Mismatches|Summaries|Streams|Integrity|Alerts|Reconciliation|Principals|Health|[A-Z][a-z]+)$/;

interface Operation {
  operationId: string;
  tags: string[];
  security?: Record<string, string[]>[];
  responses: Record<string, { content?: Record<string, { schema?: unknown }> }>;
}
type Document = { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, unknown> } };

describe('the OpenAPI document serves client generators', () => {
  let t: LedgerUnderTest;
  let document: Document;
  let operations: [string, string, Operation][];
  const scratch = join(ROOT, '.scratch', `openapi-client-${process.pid}`);

  beforeAll(async () => {
    t = await startLedgerUnderTest({ projectionsEnabled: false, checkpointsEnabled: false });
    document = (await (await fetch(`http://127.0.0.1:${t.ledger.httpPort}/docs-json`)).json()) as Document;
    operations = Object.entries(document.paths).flatMap(([path, item]) =>
      Object.entries(item).map(([method, operation]) => [path, method, operation] as [string, string, Operation]),
    );
  });
  afterAll(async () => {
    rmSync(scratch, { recursive: true, force: true });
    await t?.stop();
  });

  it('given the document, then every route is tagged by its resource, has a unique id, a response schema and its error responses', () => {
    expect(operations.length).toBeGreaterThan(20);
    const ids = operations.map(([, , operation]) => operation.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    const problems: string[] = [];
    for (const [path, method, operation] of operations) {
      const where = `${method.toUpperCase()} ${path}`;
      if (operation.tags.length !== 1 || !RESOURCE_TAGS.test(operation.tags[0]!))
        problems.push(`${where}: tags ${operation.tags.join()}`);
      if (/Controller|Http/.test(operation.operationId)) problems.push(`${where}: id ${operation.operationId}`);
      const success = Object.entries(operation.responses).filter(([status]) => status.startsWith('2'));
      if (!success.some(([, response]) => Object.values(response.content ?? {}).some((media) => media.schema))) {
        problems.push(`${where}: no response schema`);
      }
      const isPublic = path.startsWith('/health');
      const errors = isPublic ? ['503'] : ['401', '403', '503', ...(path.includes('{') ? ['404'] : [])];
      for (const status of errors) {
        const schema = operation.responses[status]?.content?.['application/json']?.schema;
        if (JSON.stringify(schema) !== JSON.stringify({ $ref: '#/components/schemas/Error' })) {
          problems.push(`${where}: no ${status} error response`);
        }
      }
      if (!isPublic && JSON.stringify(operation.security) !== JSON.stringify([{ bearer: [] }])) {
        problems.push(`${where}: not marked as needing the bearer credential`);
      }
    }
    expect(problems).toEqual([]);
    expect(document.components.schemas.Error).toBeDefined();
  });

  it('given the documented response schemas, when the routes answer, then the answers match them', async () => {
    const approval = anApproval();
    await t.send('approvals.grant', approval);
    const stream = `approval-${approval.approvalId}`;
    const cases: [string, z.ZodType, number][] = [
      ['/health', HealthSchema, 200],
      [`/v1/streams/${stream}`, StreamReadSchema, 200],
      [`/v1/streams/${stream}/events`, StreamReplaySchema, 200],
      ['/v1/integrity', IntegritySchema, 200],
      ['/v1/reconciliation/status', ReconciliationStatusSchema, 200],
      ['/v1/reconciliation/reruns', RerunJobListSchema, 200],
      ['/v1/streams/approval-none', ErrorResponseSchema, 404],
      ['/v1/streams/%20', ErrorResponseSchema, 404],
    ];
    for (const [path, schema, status] of cases) {
      const { status: got, body } = await t.http('GET', path);
      expect({ path, status: got }).toEqual({ path, status });
      const parsed = schema.safeParse(body);
      expect({ path, issues: parsed.error?.issues ?? [] }).toEqual({ path, issues: [] });
    }
    const whoami = await t.http('GET', '/v1/whoami');
    expect(WhoamiSchema.safeParse(whoami.body).error?.issues ?? []).toEqual([]);
    const verified = await t.http('POST', '/v1/integrity/verify', {});
    expect(verified.status).toBe(200);
    expect(VerifyRunSchema.safeParse(verified.body).error?.issues ?? []).toEqual([]);
    const anonymous = await fetch(`http://127.0.0.1:${t.ledger.httpPort}/v1/integrity`);
    expect(anonymous.status).toBe(401);
    expect(ErrorResponseSchema.safeParse(await anonymous.json()).success).toBe(true);
  });

  it('given a TypeScript client generated from /docs-json by swagger-typescript-api, when it grants an approval and reads its stream, then both calls work and a wrong call does not typecheck', async () => {
    mkdirSync(scratch, { recursive: true });
    writeFileSync(join(scratch, 'package.json'), '{ "type": "module" }');
    await generateApi({
      spec: document as never,
      output: scratch,
      fileName: 'ledger-api.ts',
      httpClientType: 'fetch',
      moduleNameFirstTag: true,
      silent: true,
    });
    writeFileSync(
      join(scratch, 'misuse.ts'),
      [
        "import { Api } from './ledger-api.js';",
        'const api = new Api();',
        '// @ts-expect-error riskLevel must be one of the documented levels',
        "void api.approvals.approvalsGrant({ approvalId: 'A', instruction: 'x', riskLevel: 'whatever', approvedBy: 'a' });",
        '',
      ].join('\n'),
    );
    execFileSync(
      join(ROOT, 'node_modules/.bin/tsc'),
      [
        '--ignoreConfig',
        '--strict',
        '--target',
        'es2022',
        '--module',
        'nodenext',
        '--moduleResolution',
        'nodenext',
        '--skipLibCheck',
        '--types',
        'node',
        '--outDir',
        join(scratch, 'out'),
        join(scratch, 'ledger-api.ts'),
        join(scratch, 'misuse.ts'),
      ],
      { cwd: ROOT, encoding: 'utf8' },
    );
    const { Api } = (await import(pathToFileURL(join(scratch, 'out', 'ledger-api.js')).href)) as {
      Api: new (config: {
        baseUrl: string;
        baseApiParams: { headers: Record<string, string> };
        customFetch: typeof fetch;
      }) => {
        approvals: { approvalsGrant(body: unknown): Promise<{ status: number; data: unknown }> };
        streams: { streamsRead(streamId: string, query?: unknown): Promise<{ status: number; data: unknown }> };
      };
    };
    const api = new Api({
      baseUrl: `http://127.0.0.1:${t.ledger.httpPort}`,
      baseApiParams: { headers: t.headers('gateway') },
      customFetch: fetchRetryingStaleConnections,
    });
    const approval = anApproval();
    const granted = await api.approvals.approvalsGrant(approval);
    expect(granted.status).toBe(201);
    const reader = new Api({
      baseUrl: `http://127.0.0.1:${t.ledger.httpPort}`,
      baseApiParams: { headers: t.headers('reader') },
      customFetch: fetchRetryingStaleConnections,
    });
    const read = await reader.streams.streamsRead(`approval-${approval.approvalId}`);
    expect(read.status).toBe(200);
    expect(StreamReadSchema.parse(read.data).events.map((event) => event.type)).toEqual(['ApprovalGranted']);
  }, 120_000);
});

/**
 * Node's fetch reuses a pooled keep-alive connection that the ledger may be closing at that very moment (its idle
 * keep-alive ends after 5 s, while the client was compiling): such a request fails before it is sent, and is sent once
 * more, as an application's HTTP client would (the grant is idempotent anyway).
 */
async function fetchRetryingStaleConnections(
  input: Parameters<typeof fetch>[0],
  init?: RequestInit,
): Promise<Response> {
  try {
    return await fetch(input, init);
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    if (cause?.code !== 'ECONNRESET') throw error;
    return fetch(input, init);
  }
}
