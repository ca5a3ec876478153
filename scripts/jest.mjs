#!/usr/bin/env node
// `npm test`: provides one PostgreSQL for the run, then runs Jest in ESM mode (NestJS 12 ships ESM only).
// With DATABASE_URL set, tests use that server; otherwise an embedded PostgreSQL (from npm) is started in a
// temporary cluster directory and stopped and removed afterwards, also on Ctrl-C; clusters left by runs that were
// SIGKILLed are reaped at the next start. Each test file creates a database of its own on it.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';

const require = createRequire(import.meta.url);
const jestBin = join(dirname(require.resolve('jest/package.json')), 'bin', 'jest.js');
const clustersDir = join(tmpdir(), 'audit-ledger-test-pg');

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function startEmbedded() {
  const { EmbeddedPostgresServer } = await import('../libs/event-store/dist/postgres/embedded-postgres.server.js');
  const reaped = await EmbeddedPostgresServer.reapStaleClusters(clustersDir);
  if (reaped.length) console.log(`[test] removed ${reaped.length} cluster(s) left by killed runs`);
  const server = new EmbeddedPostgresServer({
    dataDir: join(clustersDir, `run-${process.pid}`),
    port: await freePort(),
    ephemeral: true,
  });
  await server.start();
  return server;
}

async function main() {
  let server;
  let adminUrl = process.env.DATABASE_URL;
  if (adminUrl) {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect().catch((error) => {
      throw new Error(`DATABASE_URL is set but ${new URL(adminUrl).host} does not answer: ${error.message}`);
    });
    await client.end();
    console.log(`[test] PostgreSQL: DATABASE_URL (${new URL(adminUrl).host})`);
  } else {
    server = await startEmbedded();
    adminUrl = server.url;
    console.log(`[test] PostgreSQL: embedded, ${new URL(adminUrl).host}`);
  }
  const nodeOptions = [process.env.NODE_OPTIONS ?? '', '--experimental-vm-modules', '--no-warnings=ExperimentalWarning']
    .join(' ')
    .trim();
  // The heap of the process running the test files is bounded by Jest's workerIdleMemoryLimit (jest.config.js).
  const child = spawn(process.execPath, [jestBin, ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, NODE_OPTIONS: nodeOptions, LEDGER_TEST_ADMIN_URL: adminUrl },
  });
  const forward = (signal) => child.kill(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  const code = await new Promise((resolve) =>
    child.on('exit', (status, signal) => resolve(status ?? (signal ? 1 : 0))),
  );
  await server?.stop();
  process.exit(code);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
