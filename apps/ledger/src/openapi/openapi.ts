import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';

/** Where the Swagger UI is served (`GET /docs`) and the OpenAPI 3 document (`GET /docs-json`). */
export const OPENAPI_UI_PATH = 'docs';
export const OPENAPI_JSON_PATH = 'docs-json';

/**
 * The OpenAPI document of the HTTP API, built from the controllers. Parameter, body and response schemas come from
 * the zod schemas the controllers validate with (`@Query({ schema })`, `@Body({ schema })`, `standardSchema` on
 * responses), converted by zod's own JSON Schema output, so the document cannot drift from what is enforced.
 */
export function buildOpenApiDocument(app: NestFastifyApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('audit-ledger')
    .setDescription(
      'Append-only ledger of approvals and executions: commands, stream reads, integrity, read-model queries and ' +
        'exports. Errors: `{ error: { code, message, issues? } }` (docs/api.md).',
    )
    .setVersion('1')
    .build();
  return SwaggerModule.createDocument(app, config);
}

/** Serves the UI at `/docs` and the JSON at `/docs-json` (no YAML). */
export function setupOpenApi(app: NestFastifyApplication): void {
  SwaggerModule.setup(OPENAPI_UI_PATH, app, () => buildOpenApiDocument(app), {
    jsonDocumentUrl: OPENAPI_JSON_PATH,
    raw: ['json'],
  });
}
