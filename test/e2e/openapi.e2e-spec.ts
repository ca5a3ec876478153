import { CommandAck } from '@audit-ledger/domain';
import { ApprovalItemSchema, ExecutionItemSchema, MismatchItemSchema, pageSchema } from '@audit-ledger/read-models';
import { anApproval, anExecution } from '../support/fixtures.js';
import { startLedgerUnderTest, type LedgerUnderTest } from '../support/ledger-app.js';

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  schema?: { type?: string; enum?: string[] };
}
interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  required?: string[];
  format?: string;
  nullable?: boolean;
  $ref?: string;
}
interface Operation {
  parameters?: Parameter[];
  requestBody?: { content?: Record<string, { schema?: Schema }> };
  responses: Record<string, { content?: Record<string, { schema?: Schema }> }>;
}
interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
}

/** Fastify's `/v1/approvals/:approvalId` as OpenAPI writes it: `/v1/approvals/{approvalId}`. */
const openApiPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
const pathParams = (url: string) => [...url.matchAll(/:([A-Za-z0-9_]+)/g)].map((match) => match[1]!);

const UNDOCUMENTED = 'undocumentedProbe';

describe('OpenAPI document at /docs-json, UI at /docs', () => {
  let t: LedgerUnderTest;
  let doc: OpenApiDocument;
  let v1Routes: { method: string; url: string }[];

  const url = (path: string) => `http://127.0.0.1:${t.ledger.httpPort}${path}`;
  const operation = (route: { method: string; url: string }) =>
    doc.paths[openApiPath(route.url)]?.[route.method.toLowerCase()];
  const queryNames = (op: Operation | undefined) =>
    (op?.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);

  beforeAll(async () => {
    t = await startLedgerUnderTest();
    const response = await fetch(url('/docs-json'));
    expect(response.status).toBe(200);
    doc = (await response.json()) as OpenApiDocument;
    // The routes the app registered, not a list kept by hand: a new /v1 route without documentation fails below.
    v1Routes = t.ledger.httpRoutes.filter((route) => route.url.startsWith('/v1/') && route.method !== 'HEAD');
  });

  afterAll(async () => {
    await t?.stop();
  });

  it('serves an OpenAPI 3 document and the Swagger UI', async () => {
    expect(doc.openapi).toMatch(/^3\./);
    const ui = await fetch(url('/docs'));
    expect(ui.status).toBe(200);
    expect(ui.headers.get('content-type')).toContain('text/html');
    const html = await ui.text();
    // The page's scripts (Swagger UI, and the init script that points it at the document) are served too.
    const scripts = [...html.matchAll(/src="\.\/(docs\/[^"]+\.js)"/g)].map((match) => `/${match[1]}`);
    expect(scripts).toEqual(expect.arrayContaining(['/docs/swagger-ui-bundle.js', '/docs/swagger-ui-init.js']));
    for (const script of scripts) {
      const asset = await fetch(url(script));
      await asset.arrayBuffer(); // an unread body keeps its connection busy
      expect({ script, status: asset.status }).toEqual({ script, status: 200 });
    }
  });

  it('documents every /v1 route the app registers, with its path parameters', () => {
    expect(v1Routes.length).toBeGreaterThanOrEqual(15);
    const missing = v1Routes.filter((route) => !operation(route)).map((r) => `${r.method} ${r.url}`);
    expect(missing).toEqual([]);
    for (const route of v1Routes) {
      const documented = (operation(route)!.parameters ?? []).filter((p) => p.in === 'path');
      expect({ route: route.url, path: documented.map((p) => [p.name, p.required]) }).toEqual({
        route: route.url,
        path: pathParams(route.url).map((name) => [name, true]),
      });
    }
  });

  it('documents exactly the query parameters each GET route accepts', async () => {
    for (const route of v1Routes.filter((r) => r.method === 'GET')) {
      const documented = queryNames(operation(route));
      const path = route.url.replace(/:([A-Za-z0-9_]+)/g, 'probe-$1');
      // An undocumented parameter: every route refuses it with 400, naming it (issue 10: none is silently ignored).
      const abort = new AbortController();
      const response = await fetch(url(`${path}?${UNDOCUMENTED}=1`), { signal: abort.signal, headers: t.headers() });
      expect({ route: route.url, status: response.status }).toEqual({ route: route.url, status: 400 });
      const body = (await response.json()) as ErrorReply;
      abort.abort(); // the alert stream never ends
      const refusal = body.error.issues?.find((issue) => mentions(issue, UNDOCUMENTED));
      expect({ route: route.url, refusal: Boolean(refusal) }).toEqual({ route: route.url, refusal: true });
      if (documented.length === 0) continue;
      const known = /\(known: ([^)]*)\)/.exec(refusal!.message)?.[1];
      if (known !== undefined) {
        // The server lists what it accepts: the document names exactly those.
        expect({ route: route.url, documented: [...documented].sort() }).toEqual({
          route: route.url,
          documented: known.split(', ').sort(),
        });
      }
      // Each documented parameter is one the server knows (it may refuse the value, never the name).
      const all = documented.map((name) => `${name}=x`).join('&');
      const reply = (await (
        await fetch(url(`${path}?${all}`), { headers: t.headers() })
      ).json()) as Partial<ErrorReply>;
      const unknown = (reply.error?.issues ?? []).filter((issue) => documented.some((name) => mentions(issue, name)));
      expect({ route: route.url, unknown: unknown.filter(isUnknownName) }).toEqual({ route: route.url, unknown: [] });
    }
  });

  it('takes enums from the zod schemas: the executions list documents riskLevel, status and verdict', () => {
    const list = doc.paths['/v1/executions']!.get!;
    const param = (name: string) => list.parameters!.find((p) => p.in === 'query' && p.name === name)!;
    expect(param('riskLevel').schema!.enum).toEqual(['safe', 'moderate', 'destructive', 'critical', 'none', 'unknown']);
    expect(param('status').schema!.enum).toEqual(['success', 'failure']);
    expect(param('verdict').schema!.enum).toEqual(['matched', 'mismatch', 'unclear']);
    expect(param('limit')).toMatchObject({ required: false, schema: { type: 'integer', minimum: 1, maximum: 500 } });
    const exportFormat = doc.paths['/v1/executions/export']!.get!.parameters!.find((p) => p.name === 'format')!;
    expect(exportFormat).toMatchObject({ in: 'query', required: true, schema: { enum: ['csv', 'json', 'jsonl'] } });
  });

  it('documents request bodies and command acknowledgements from the domain schemas', () => {
    const bodyOf = (path: string) =>
      doc.paths[path]!.post!.requestBody!.content!['application/json']!.schema!.properties ?? {};
    expect(Object.keys(bodyOf('/v1/executions'))).toEqual(
      expect.arrayContaining(['executionId', 'approvalId', 'workerId', 'command', 'exitCode', 'startedAt']),
    );
    expect(Object.keys(bodyOf('/v1/approvals'))).toEqual(
      expect.arrayContaining(['approvalId', 'instruction', 'approvedCommands', 'riskLevel', 'approvedBy']),
    );
    // The id comes from the path, so the documented body does not carry it.
    expect(Object.keys(bodyOf('/v1/approvals/{approvalId}/reject'))).not.toContain('approvalId');
    for (const route of v1Routes.filter((r) => r.method === 'POST')) {
      expect({ route: route.url, body: Boolean(operation(route)!.requestBody) }).toEqual({
        route: route.url,
        body: true,
      });
    }
    const ack = doc.paths['/v1/executions']!.post!.responses['201']!.content!['application/json']!.schema!;
    expect(Object.keys(ack.properties ?? {})).toEqual(
      expect.arrayContaining(['eventId', 'streamId', 'streamRevision', 'globalPosition', 'hash', 'duplicate']),
    );
  });

  it('documents the query answers from the read-model schemas, and real answers parse with those schemas', async () => {
    const okSchema = (path: string) => doc.paths[path]!.get!.responses['200']!.content!['application/json']!.schema!;
    const page = okSchema('/v1/executions');
    expect(page.required).toEqual(expect.arrayContaining(['items', 'nextCursor']));
    expect(page.properties!.items!.items!.properties!.startedAt).toMatchObject({ type: 'string', format: 'date-time' });
    expect(Object.keys(okSchema('/v1/executions/{executionId}').properties!)).toEqual(
      Object.keys(ExecutionItemSchema.shape),
    );
    expect(Object.keys(okSchema('/v1/approvals/{approvalId}').properties!)).toEqual(
      Object.keys(ApprovalItemSchema.shape),
    );
    expect(Object.keys(okSchema('/v1/mismatches').properties!.items!.items!.properties!)).toEqual(
      Object.keys(MismatchItemSchema.shape),
    );

    // What the API answers is what the schemas say (strict: no field more, none less, same types).
    const approval = anApproval();
    const executed = anExecution({ approvalId: approval.approvalId });
    expect((await t.http('POST', '/v1/approvals', approval)).status).toBe(201);
    const ack = CommandAck.parse((await t.http('POST', '/v1/executions', executed)).body);
    const at = `minPosition=${ack.globalPosition}`;
    const answers = {
      executions: await t.http('GET', `/v1/executions?approvalId=${approval.approvalId}&${at}`),
      execution: await t.http('GET', `/v1/executions/${executed.executionId}?${at}`),
      approvals: await t.http('GET', `/v1/approvals?approvalId=${approval.approvalId}&${at}`),
      approval: await t.http('GET', `/v1/approvals/${approval.approvalId}?${at}`),
      mismatches: await t.http('GET', `/v1/mismatches?${at}`),
    };
    expect(Object.values(answers).map((answer) => answer.status)).toEqual([200, 200, 200, 200, 200]);
    expect(pageSchema(ExecutionItemSchema).parse(answers.executions.body).items).toHaveLength(1);
    expect(ExecutionItemSchema.parse(answers.execution.body)).toMatchObject({ command: executed.command });
    expect(pageSchema(ApprovalItemSchema).parse(answers.approvals.body).items).toHaveLength(1);
    expect(ApprovalItemSchema.parse(answers.approval.body)).toMatchObject({ executionCount: 1 });
    expect(pageSchema(MismatchItemSchema).parse(answers.mismatches.body)).toEqual({ items: [], nextCursor: null });
  });
});

interface ErrorReply {
  error: { code: string; message: string; issues?: { path: string; message: string }[] };
}

/** Whether an issue is about this parameter: it names it as its path, or (zod strict objects) in its message. */
function mentions(issue: { path: string; message: string }, name: string): boolean {
  return issue.path === name || issue.message.includes(`"${name}"`);
}

const isUnknownName = (issue: { message: string }) => /unknown query parameter|unrecognized key/i.test(issue.message);
