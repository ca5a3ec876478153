#!/usr/bin/env node
// `npm start`: brings the build up to date (tsc -b, incremental), then runs the ledger in this very process. The
// script is `exec node scripts/start.mjs`, so the shell npm starts is replaced by this process: a SIGTERM or SIGINT
// to npm's PID (what a process manager holds) reaches the ledger, which closes its transports, its store and its
// embedded PostgreSQL, then exits; npm exits after it. Nothing is left running (docs/operations.md, "Stopping").
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const tsc = join(dirname(require.resolve('typescript/package.json')), 'bin', 'tsc');

// A stop signal during the build ends the build and this process: nothing has started yet.
const build = spawn(process.execPath, [tsc, '-b', 'tsconfig.build.json'], { cwd: repo, stdio: 'inherit' });
const stopBuild = (signal) => build.kill(signal);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, stopBuild);
const { code, signal } = await new Promise((resolve) =>
  build.once('exit', (exitCode, exitSignal) => resolve({ code: exitCode, signal: exitSignal })),
);
for (const name of ['SIGINT', 'SIGTERM']) process.off(name, stopBuild);
if (signal) process.exit(0);
if (code !== 0) {
  process.stderr.write(`audit-ledger: the build failed (tsc -b exited with ${code}); not starting\n`);
  process.exit(code ?? 1);
}
await import(join(repo, 'apps/ledger/dist/main.js'));
