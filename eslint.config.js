import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** Layering (docs/architecture.md): domain and integrity import nothing of ours; libs never import apps; the CLI imports libs only. */
const restrict = (patterns) => ({ 'no-restricted-imports': ['error', { patterns }] });

export default tseslint.config(
  { ignores: ['**/dist/**', 'node_modules/**', 'data/**', 'coverage/**', '.scratch/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { disallowTypeAnnotations: false, fixStyle: 'inline-type-imports' },
      ],
    },
  },
  {
    // Nest resolves constructor parameters from emitted decorator metadata: a type-only import would erase it.
    files: ['apps/**/*.ts'],
    rules: { '@typescript-eslint/consistent-type-imports': 'off' },
  },
  {
    files: ['libs/domain/src/**/*.ts'],
    rules: restrict([
      {
        group: ['@nestjs/*', 'pg', 'node:*', '@audit-ledger/*', '../../*'],
        message: 'libs/domain is pure: no framework, no I/O, nothing of ours.',
      },
    ]),
  },
  {
    files: ['libs/integrity/src/**/*.ts'],
    rules: restrict([
      {
        group: ['@nestjs/*', 'pg', '@audit-ledger/*', '../../*'],
        message: 'libs/integrity imports no store and nothing of ours.',
      },
    ]),
  },
  {
    files: ['libs/*/src/**/*.ts'],
    ignores: ['libs/domain/src/**', 'libs/integrity/src/**', 'libs/read-models/src/**'],
    rules: restrict([
      { group: ['@audit-ledger/ledger', '@audit-ledger/cli', '**/apps/**'], message: 'libs never import apps.' },
    ]),
  },
  {
    // Projections read the store through the port only; no lib imports the client or an app.
    files: ['libs/read-models/src/**/*.ts'],
    rules: restrict([
      {
        group: ['@audit-ledger/client', '@audit-ledger/ledger', '@audit-ledger/cli', '**/apps/**'],
        message: 'read models depend on domain and the event-store port only.',
      },
    ]),
  },
  {
    // The CLI runs the ledger app (`ledger start` spawns its built entry) but imports libs only.
    files: ['apps/cli/src/**/*.ts'],
    rules: restrict([
      {
        group: ['@audit-ledger/ledger', '@audit-ledger/ledger/*', '**/apps/ledger/**'],
        message: 'apps/cli imports libs only.',
      },
    ]),
  },
  {
    // The dashboard runs in the browser (docs/dashboard.md).
    files: ['apps/ledger/dashboard/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
  },
);
