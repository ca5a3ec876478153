import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { startLedgerUnderTest, type LedgerUnderTest } from '../support/ledger-app.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const COMPOSE_SECRETS = { POSTGRES_PASSWORD: 'compose-test-pg', LEDGER_NATS_PASSWORD: 'compose-test-nats' };

/** `docker compose` (the plugin) or `docker-compose` (the standalone tool), whichever validates files here. */
function composeCommand(): string[] | undefined {
  for (const command of [['docker', 'compose'], ['docker-compose']]) {
    const probe = spawnSync(command[0]!, [...command.slice(1), 'version'], { encoding: 'utf8' });
    if (probe.status === 0) return command;
  }
  return undefined;
}

function compose(command: string[], args: string[], env: NodeJS.ProcessEnv) {
  return spawnSync(command[0]!, [...command.slice(1), ...args], { cwd: ROOT, encoding: 'utf8', env });
}

const composeCli = composeCommand();
const hadolint = spawnSync('hadolint', ['--version']).status === 0;
const dockerfile = readFileSync(`${ROOT}Dockerfile`, 'utf8');
const stages = dockerfile.split(/^FROM /m).slice(1);

describe('the deployable stack (Dockerfile, docker-compose.yml)', () => {
  (composeCli ? it : it.skip)(
    'given the compose file and its secrets, when compose validates it, then it runs the ledger with PostgreSQL and NATS, each with a health check',
    () => {
      const env = { ...process.env, ...COMPOSE_SECRETS };
      const result = compose(composeCli!, ['config'], env);
      expect(result.stderr).not.toMatch(/error|invalid/i);
      expect(result.status).toBe(0);
      const services = compose(composeCli!, ['config', '--services'], env).stdout.trim().split('\n');
      expect(services).toEqual(expect.arrayContaining(['ledger', 'postgres', 'nats']));
      expect(result.stdout).toMatch(/kurrentdb:[\s\S]*?profiles:[\s\S]*?- kurrentdb/); // an option, behind its profile
      for (const service of ['postgres', 'nats'])
        expect(result.stdout).toMatch(new RegExp(`${service}:[\\s\\S]*?healthcheck:`));
    },
  );
  if (!composeCli)
    it.todo('docker compose config: skipped, neither `docker compose` nor `docker-compose` is installed');

  (composeCli ? it : it.skip)(
    'given no secrets in the environment, when compose validates it, then it names the missing one',
    () => {
      const env = { ...process.env };
      delete env.POSTGRES_PASSWORD;
      delete env.LEDGER_NATS_PASSWORD;
      const result = compose(composeCli!, ['config', '-q'], env);
      expect(result.status).not.toBe(0);
      expect(result.stderr).toMatch(/POSTGRES_PASSWORD|LEDGER_NATS_PASSWORD/);
    },
  );

  (hadolint ? it : it.skip)('the Dockerfile passes hadolint', () => {
    execFileSync('hadolint', [`${ROOT}Dockerfile`], { encoding: 'utf8' });
  });
  if (!hadolint)
    it.todo('hadolint: skipped, `hadolint` is not installed here (no Debian package; see docs/operations.md)');

  it('the image builds in stages with the README commands and runs as a non-root user with a health check', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const build = stages[0]!;
    const runtime = stages.at(-1)!;
    expect(build).toMatch(/^RUN npm ci\b/m); // the README's install, whose `prepare` builds
    expect(runtime).toMatch(/^USER (?!root\b|0\b)\S+/m);
    expect(runtime).toMatch(/^HEALTHCHECK .*\n?.*CMD \["node", "deploy\/healthcheck\.mjs"\]/m);
    expect(runtime).toMatch(/^CMD \["node", "apps\/ledger\/dist\/main\.js"\]/m); // exec form: SIGTERM reaches node
    const readme = readFileSync(`${ROOT}README.md`, 'utf8');
    expect(readme).toMatch(/^npm ci$/m);
  });

  describe("the image's health check script", () => {
    let t: LedgerUnderTest;
    beforeAll(async () => {
      t = await startLedgerUnderTest({ projectionsEnabled: false, checkpointsEnabled: false });
    });
    let stopped = false;
    afterAll(() => (stopped ? undefined : t?.stop()));

    // Asynchronous: the ledger under test answers from this very process, which spawnSync would block.
    const probe = (port: number) =>
      new Promise<number | null>((resolve) => {
        const child = spawn(process.execPath, [`${ROOT}deploy/healthcheck.mjs`], {
          env: { ...process.env, LEDGER_HTTP_PORT: String(port), LEDGER_TLS_CERT_FILE: '', LEDGER_TLS_KEY_FILE: '' },
          stdio: 'ignore',
          timeout: 10_000,
        });
        child.once('exit', (code) => resolve(code));
      });

    it('given a running ledger, then it succeeds; given nothing listening, then it fails', async () => {
      expect(await probe(t.ledger.httpPort)).toBe(0);
      await t.stop();
      stopped = true;
      expect(await probe(t.ledger.httpPort)).toBe(1);
    });
  });
});
