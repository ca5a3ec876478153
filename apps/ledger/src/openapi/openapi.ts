import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { z } from 'zod';
import { ErrorResponseSchema } from './response-schemas.js';

/** Where the Swagger UI is served (`GET /docs`) and the OpenAPI 3 document (`GET /docs-json`). */
const OPENAPI_UI_PATH = 'docs';
const OPENAPI_JSON_PATH = 'docs-json';

/** Tags by resource: the first path segment after `/v1/`, title-cased, except these. */
const TAG_OF_SEGMENT: Record<string, string> = { evidence: 'Integrity', whoami: 'Principals', health: 'Health' };

const BEARER = 'bearer';
const ERROR_SCHEMA_REF = { $ref: '#/components/schemas/Error' };

type Operation = Record<string, unknown> & {
  operationId?: string;
  tags?: string[];
  parameters?: { in?: string }[];
  requestBody?: unknown;
  responses?: Record<string, { description?: string; content?: unknown }>;
  security?: Record<string, string[]>[];
  'x-public'?: boolean;
  'x-roles'?: string[];
};

/**
 * The OpenAPI document of the HTTP API, built from the controllers. Parameter, body and response schemas come from
 * the zod schemas the controllers validate with (`@Query({ schema })`, `@Body({ schema })`, `standardSchema` on
 * responses), converted by zod's own JSON Schema output, so the document cannot drift from what is enforced.
 * Then, for client generators: tags by resource, operation ids by resource and method, the bearer scheme on every
 * route that is not public (with the roles it takes in `x-roles`), and the error responses each route can give, all
 * with the one error shape.
 */
export function buildOpenApiDocument(app: NestFastifyApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('audit-ledger')
    .setDescription(
      'Append-only ledger of approvals and executions: commands, stream reads, integrity, read-model queries and ' +
        'exports. Every route but the health probes takes `Authorization: Bearer <API key or OIDC token>` ' +
        '(docs/security.md). Errors: `{ error: { code, message, issues? } }` (docs/api.md).',
    )
    .setVersion('1')
    .addBearerAuth(
      { type: 'http', scheme: 'bearer', description: 'an API key (`alk_…`) or an OIDC access token' },
      BEARER,
    )
    .build();
  return forClientGenerators(SwaggerModule.createDocument(app, config));
}

function forClientGenerators(document: OpenAPIObject): OpenAPIObject {
  document.components ??= {};
  document.components.schemas ??= {};
  document.components.schemas.Error = z.toJSONSchema(ErrorResponseSchema, { target: 'openapi-3.0' }) as never;
  const taken = new Map<string, number>();
  const operations: [string, string, Operation][] = [];
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(item as Record<string, Operation>)) {
      operations.push([path, method, operation]);
      const id = operationIdOf(path, operation);
      taken.set(id, (taken.get(id) ?? 0) + 1);
    }
  }
  for (const [path, method, operation] of operations) {
    const tag = tagOf(path);
    operation.tags = [tag];
    const id = operationIdOf(path, operation);
    const controller = (operation.operationId ?? '').split('_')[0]!.replace(/(Http)?Controller$/, '');
    operation.operationId = taken.get(id)! > 1 ? `${lowerFirst(controller)}_${methodOf(operation)}` : id;
    const isPublic = operation['x-public'] === true;
    operation.security = isPublic ? [] : [{ [BEARER]: [] }];
    addErrorResponses(path, method, operation, isPublic);
  }
  return document;
}

function tagOf(path: string): string {
  const segment = path.replace(/^\/(v1\/)?/, '').split('/')[0] ?? '';
  return TAG_OF_SEGMENT[segment] ?? segment.charAt(0).toUpperCase() + segment.slice(1);
}

function methodOf(operation: Operation): string {
  return (operation.operationId ?? '').split('_').slice(1).join('_') || 'call';
}

function operationIdOf(path: string, operation: Operation): string {
  return `${lowerFirst(tagOf(path))}_${methodOf(operation)}`;
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}

function addErrorResponses(path: string, method: string, operation: Operation, isPublic: boolean): void {
  const responses = (operation.responses ??= {});
  const hasInput = (operation.parameters?.length ?? 0) > 0 || operation.requestBody !== undefined;
  const errors: [string, string][] = [
    ...(hasInput
      ? [['400', 'invalid input: `VALIDATION.*`, with `issues` naming each field'] as [string, string]]
      : []),
    ...(isPublic
      ? []
      : ([
          ['401', '`AUTH.UNAUTHENTICATED`: no credential, or one that is unknown, expired or revoked'],
          ['403', '`AUTH.FORBIDDEN`: the principal lacks the role (`x-roles`)'],
          ['429', '`AUTH.RATE_LIMITED`: the principal exceeded its rate limit'],
        ] as [string, string][])),
    ...(path.includes('{') ? [['404', 'not found: the `code` names what'] as [string, string]] : []),
    ...(method === 'post' || method === 'delete'
      ? [['409', 'conflict with the current state: the `code` says which'] as [string, string]]
      : []),
    ['503', '`EVENT_STORE.UNAVAILABLE` (or a read model not caught up): retry later'],
  ];
  for (const [status, description] of errors) {
    const existing = responses[status];
    responses[status] = {
      description: existing?.description || description,
      content: { 'application/json': { schema: ERROR_SCHEMA_REF } },
    };
  }
}

/** Serves the UI at `/docs` and the JSON at `/docs-json` (no YAML). */
export function setupOpenApi(app: NestFastifyApplication): void {
  SwaggerModule.setup(OPENAPI_UI_PATH, app, () => buildOpenApiDocument(app), {
    jsonDocumentUrl: OPENAPI_JSON_PATH,
    raw: ['json'],
  });
}
