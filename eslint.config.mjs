// ESLint 10 flat config: @eslint/js + typescript-eslint recommended for TS and ESM
// scripts, plus type-aware promise checks for TypeScript (through the project service).
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

// Node's globals for the .mjs scripts (TypeScript files get them from @types/node).
const nodeGlobals = Object.fromEntries(
  [
    'AbortController', 'AbortSignal', 'Blob', 'Buffer', 'console', 'fetch', 'FormData', 'global',
    'globalThis', 'Headers', 'process', 'queueMicrotask', 'ReadableStream', 'Request', 'Response',
    'setImmediate', 'clearImmediate', 'setInterval', 'clearInterval', 'setTimeout', 'clearTimeout',
    'structuredClone', 'TextDecoder', 'TextEncoder', 'URL', 'URLSearchParams', 'WritableStream',
  ].map((name) => [name, 'readonly']),
);

export default defineConfig(
  globalIgnores([
    'node_modules/',
    '.next/',
    'var/',
    'test-results/',
    'playwright-report/',
    'bench-results/',
    'next-env.d.ts',
    'lib/dist/',
    'fixtures/*/node_modules/',
    'fixtures/*/.next/',
    'docs/api/',
  ]),
  {
    files: ['**/*.{ts,tsx,mjs}'],
    extends: [js.configs.recommended, tseslint.configs.recommended],
    languageOptions: { globals: nodeGlobals },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' },
      ],
    },
  },
  {
    files: ['**/*.{ts,tsx}'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
    },
  },
);
