import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/** The dashboard (docs/dashboard.md): built into `dist/`, which the ledger serves under `/`. */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 1200,
    sourcemap: false,
    rolldownOptions: {
      // React libraries mark modules 'use client' (for server components); a plain bundle has no use for it.
      onwarn(warning, warn) {
        if (warning.code !== 'MODULE_LEVEL_DIRECTIVE') warn(warning);
      },
    },
  },
});
