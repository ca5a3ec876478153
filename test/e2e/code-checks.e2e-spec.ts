import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const ROOT = new URL('../../', import.meta.url).pathname;
const DEPCRUISE = join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');
const CONFIG = join(ROOT, '.dependency-cruiser.mjs');
const KNIP = join(ROOT, 'node_modules/knip/bin/knip.js');
const KNIP_CONFIG = join(ROOT, 'knip.jsonc');

/** The workspace layout in miniature: `@audit-ledger/*` resolve to sources as in the real tsconfig.json. */
const TSCONFIG = JSON.stringify({
  compilerOptions: {
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    paths: { '@audit-ledger/ledger': ['./apps/ledger/src/index.ts'], '@audit-ledger/*': ['./libs/*/src/index.ts'] },
  },
});

/** Runs the project's own check (its config, from the repository) on a miniature workspace written for the test. */
function check(args: string[], files: Record<string, string>): { status: number | null; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'code-checks-'));
  try {
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    const run = spawnSync(process.execPath, args, { cwd: dir, encoding: 'utf8' });
    return { status: run.status, output: run.stdout + run.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const cruise = (files: Record<string, string>) =>
  check([DEPCRUISE, 'apps', 'libs', '--config', CONFIG, '--output-type', 'err'], {
    'package.json': '{ "name": "fixture", "type": "module" }',
    'tsconfig.json': TSCONFIG,
    ...files,
  });

const knip = (files: Record<string, string>) =>
  check([KNIP, '--config', KNIP_CONFIG, '--no-config-hints', '--no-progress'], files);

const LEDGER = {
  'apps/ledger/src/index.ts': "import { hash } from '@audit-ledger/domain';\nexport const ledger = hash;\n",
};
const DOMAIN = {
  'libs/domain/src/index.ts': "import { createHash } from 'node:crypto';\nexport const hash = createHash;\n",
};

describe('the boundary check (npm run check:boundaries, .dependency-cruiser.mjs)', () => {
  it('given code within the boundaries, when it is cruised, then the check passes', () => {
    const result = cruise({ ...LEDGER, ...DOMAIN, 'apps/cli/src/main.ts': "import '@audit-ledger/domain';\n" });
    expect(result.output).not.toMatch(/error/);
    expect(result.status).toBe(0);
  });

  it('given each kind of violation, when it is cruised, then the check fails and names each one', () => {
    const result = cruise({
      ...LEDGER,
      ...DOMAIN,
      'apps/cli/src/main.ts': "import { ledger } from '@audit-ledger/ledger';\nexport const cli = ledger;\n",
      'apps/cli/src/main.spec.ts': "import '@audit-ledger/ledger';\n", // tests may run the real apps
      'libs/client/src/index.ts': "import { ledger } from '../../../apps/ledger/src/index.js';\nexport { ledger };\n",
      'libs/event-store/src/index.ts': "import { readFileSync } from 'node:fs';\nexport const store = readFileSync;\n",
      'libs/integrity/src/index.ts':
        "import { setTimeout } from 'node:timers/promises';\nimport { store } from '@audit-ledger/event-store';\n" +
        "export { a } from './a.js';\nexport const pure = [setTimeout, store];\n",
      'libs/integrity/src/a.ts': "import { b } from './b.js';\nexport const a = () => b;\n",
      'libs/integrity/src/b.ts': "import { a } from './a.js';\nimport './gone.js';\nexport const b = () => a;\n",
    });
    expect(result.status).not.toBe(0);
    for (const violation of [
      /app-imports-other-app: apps\/cli\/src\/main\.ts → apps\/ledger\/src\/index\.ts/,
      /lib-imports-app: libs\/client\/src\/index\.ts → apps\/ledger\/src\/index\.ts/,
      /pure-lib-imports-io: libs\/integrity\/src\/index\.ts → timers\/promises/,
      /pure-lib-imports-impure-lib: libs\/integrity\/src\/index\.ts → libs\/event-store\/src\/index\.ts/,
      /no-circular: libs\/integrity\/src\/(a|b)\.ts/,
      /not-to-unresolvable: libs\/integrity\/src\/b\.ts → \.\/gone\.js/,
    ])
      expect(result.output).toMatch(violation);
    expect(result.output).not.toMatch(/main\.spec\.ts/);
    expect(result.output).not.toMatch(/libs\/event-store\/src\/index\.ts → fs/); // an I/O lib may do I/O
  });
});

/** A workspace whose lib is used by its app, and whose root declares `extra` dependencies. */
const workspace = (extra: Record<string, string>, files: Record<string, string>) => ({
  'package.json': JSON.stringify({
    name: 'fixture',
    private: true,
    type: 'module',
    workspaces: ['libs/domain', 'apps/cli'],
    dependencies: extra,
  }),
  'libs/domain/package.json': '{ "name": "@audit-ledger/domain", "type": "module", "exports": "./src/index.ts" }',
  'libs/domain/src/index.ts': "export { used } from './used.js';\n",
  'apps/cli/package.json':
    '{ "name": "@audit-ledger/cli", "type": "module", "dependencies": { "@audit-ledger/domain": "0.1.0" } }',
  'apps/cli/src/main.ts': "import { used } from '@audit-ledger/domain';\nconsole.log(used);\n",
  ...files,
});

describe('the unused-code check (npm run check:unused, knip.jsonc)', () => {
  it('given a workspace where everything is used, when it is checked, then the check passes', () => {
    const result = knip(workspace({}, { 'libs/domain/src/used.ts': 'export const used = 1;\n' }));
    expect(result.output.trim()).toBe('');
    expect(result.status).toBe(0);
  });

  it('given an unused dependency, file and export, when it is checked, then the check fails and names each one', () => {
    const result = knip(
      workspace(
        { 'left-pad': '1.3.0' },
        {
          'libs/domain/src/used.ts': 'export const used = 1;\nexport const spare = 2;\n',
          'libs/domain/src/orphan.ts': 'export const orphan = 3;\n',
        },
      ),
    );
    expect(result.status).not.toBe(0);
    expect(result.output).toMatch(/Unused files[\s\S]*libs\/domain\/src\/orphan\.ts/);
    expect(result.output).toMatch(/Unused dependencies[\s\S]*left-pad/);
    expect(result.output).toMatch(/Unused exports[\s\S]*spare +libs\/domain\/src\/used\.ts/);
  });
});
