/** Jest runs in ESM mode (NestJS 12 is ESM-only) with @swc/jest emitting decorator metadata. */
const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2022',
      keepClassNames: true,
    },
    module: { type: 'es6' },
    sourceMaps: 'inline',
  },
];

/**
 * ESM-only packages that CommonJS dependencies `require` (content-disposition 3, required by @fastify/static, which
 * serves the Swagger UI): Node 20 runs that natively, Jest's module runtime (before Node 24.9) cannot, so Jest gets
 * them compiled to CommonJS.
 */
const REQUIRED_ESM_PACKAGES = ['content-disposition'];
const swcToCommonJs = ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }];

const shared = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': swc,
    [`/node_modules/(${REQUIRED_ESM_PACKAGES.join('|')})/.+\\.js$`]: swcToCommonJs,
  },
  transformIgnorePatterns: [`/node_modules/(?!(${REQUIRED_ESM_PACKAGES.join('|')})/)`],
  moduleNameMapper: {
    '^@audit-ledger/ledger$': '<rootDir>/apps/ledger/src/index.ts',
    '^@audit-ledger/([a-z-]+)$': '<rootDir>/libs/$1/src/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  modulePathIgnorePatterns: ['<rootDir>/.*/dist/'],
  rootDir: '.',
};

export default {
  projects: [
    {
      ...shared,
      displayName: 'unit',
      testMatch: ['<rootDir>/{libs,apps}/*/src/**/*.spec.ts', '<rootDir>/{libs,apps}/*/test/**/*.spec.ts'],
    },
    {
      ...shared,
      displayName: 'int',
      testMatch: ['<rootDir>/{libs,apps}/*/{src,test}/**/*.int-spec.ts'],
    },
    {
      ...shared,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts', '<rootDir>/apps/*/test/**/*.e2e-spec.ts'],
    },
  ],
  reporters: ['default', '<rootDir>/test/support/summary-reporter.cjs'],
  /**
   * Each test file's ES modules stay in the heap for the life of the process: Node keeps every vm.SourceTextModule
   * (nodejs/node#59118, jestjs/jest#14605), so each file's whole module graph (Nest, pg, the ledger: 25-35 MB) adds
   * up to ~4 GB over the suite, Node's default heap limit. Set, Jest runs the files in a worker process (one at a
   * time on 2 cores, as before) and replaces it once its heap passes this after a file.
   */
  workerIdleMemoryLimit: '1GB',
  testTimeout: 60000,
};
