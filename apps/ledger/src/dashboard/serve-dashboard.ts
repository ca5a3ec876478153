import fastifyStatic from '@fastify/static';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';

/**
 * Where the built dashboard lies: `apps/ledger/dashboard/dist`, built by `npm run build` (vite). The same relative
 * path from `src/dashboard/` (tests) and `dist/dashboard/` (the built ledger).
 */
export const DASHBOARD_ROOT = fileURLToPath(new URL('../../dashboard/dist/', import.meta.url));

/**
 * The browser may load scripts, styles, images and connect only to this origin (no CDN, nothing inline but the
 * style attributes the chart library sets); the page cannot be framed.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

/**
 * Serves the web dashboard (docs/dashboard.md) under `/` on the API's port: its files only, read from the package.
 * The dashboard reads the HTTP API with the credential its user signs in with. A ledger built without it (no
 * `index.html`) serves no dashboard and says so in its log; the API is unaffected.
 */
export async function serveDashboard(app: NestFastifyApplication, logger: Logger): Promise<boolean> {
  if (!existsSync(join(DASHBOARD_ROOT, 'index.html'))) {
    logger.warn({ root: DASHBOARD_ROOT }, 'dashboard not built (npm run build): not served');
    return false;
  }
  await app.register(fastifyStatic, {
    root: DASHBOARD_ROOT,
    prefix: '/',
    wildcard: true,
    index: ['index.html'],
    decorateReply: false, // the Swagger UI registers @fastify/static too
    setHeaders: (reply) => {
      reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
      reply.header('x-content-type-options', 'nosniff');
      reply.header('referrer-policy', 'no-referrer');
    },
  });
  return true;
}
