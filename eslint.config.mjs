// ESLint 10 flat config: @eslint/js + typescript-eslint recommended for TS and ESM
// scripts, plus type-aware promise checks for TypeScript (through the project service).
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';
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

// The package's layers (lib/): an arrow may only point down. Each zone names the files of a layer
// (`target`) and what they may not import (`from`). Tests may cross layers; shipped code may not.
// Offload sits just above the bottom: its rules and web-server backends know nothing of sources or
// of the engine, which calls them through one small interface (lib/offload/hand-over.ts).
const LIB_LAYERS = {
  bottom: ['./lib/errors.ts', './lib/http', './lib/fs', './lib/streams'],
  offload: ['./lib/offload'],
  // Download events: what the engine and the factories record, and the listeners they tell.
  events: ['./lib/events'],
  engine: ['./lib/engine'],
  storages: ['./lib/storage', './lib/s3'],
  sources: ['./lib/sources'],
  factories: ['./lib/factories'],
  integrations: ['./lib/server', './lib/signing', './lib/upload', './lib/drizzle', './lib/testing', './lib/zip'],
  cli: ['./lib/cli'],
};
const above = (layer) => {
  const order = Object.keys(LIB_LAYERS);
  return order.slice(order.indexOf(layer) + 1).flatMap((name) => LIB_LAYERS[name]);
};
const layerZones = [
  { target: './lib/errors.ts', from: './lib', except: ['./errors.ts'], message: 'errors are the bottom of the package: they import nothing of it' },
  ...Object.keys(LIB_LAYERS).filter((layer) => above(layer).length > 0).flatMap((layer) =>
    LIB_LAYERS[layer].map((target) => ({
      target,
      from: above(layer),
      message: `${layer} may only import layers below it (errors/http/fs/streams <- offload <- events <- engine <- storages <- sources <- factories <- integrations <- cli)`,
    })),
  ),
  // Within a layer: the two storages stay apart, and so do the integrations.
  { target: './lib/storage', from: './lib/s3', message: 'each storage stands on the Storage contract alone' },
  { target: './lib/s3', from: './lib/storage', except: ['./storage.ts'], message: 'each storage stands on the Storage contract alone' },
  { target: './lib/http', from: ['./lib/fs', './lib/streams'], message: 'HTTP helpers are pure: no file system, no streams' },
  { target: './lib/fs', from: './lib/streams', message: 'path confinement and streams stay apart (no folder cycle at the bottom)' },
  { target: './lib/streams', from: './lib/fs', message: 'path confinement and streams stay apart (no folder cycle at the bottom)' },
  ...LIB_LAYERS.integrations.map((target) => ({
    target,
    from: LIB_LAYERS.integrations.filter((other) => other !== target),
    message: 'an integration builds on the layers below, not on another integration',
  })),
  { target: './lib', from: ['./app', './db', './scripts'], message: 'the package never imports the demo' },
  { target: './lib', from: './lib/index.ts', message: 'an entry point is the public surface: import the module itself' },
  { target: './lib', from: ['./lib/*/index.ts'], message: 'an entry point is the public surface: import the module itself' },
];

export default defineConfig(
  globalIgnores([
    'node_modules/',
    '.next/',
    '.next-bench/',
    'var/',
    'test-results/',
    'playwright-report/',
    'bench-results/',
    'next-env.d.ts',
    'lib/dist/',
    // The consumer fixture is linted by its own config (create-next-app's) in the consumer test.
    'fixtures/consumer-app/',
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
  {
    files: ['lib/**/*.ts', 'app/**/*.{ts,tsx}', 'db/**/*.ts'],
    // Tests and their helpers may cross layers; the entry points (lib/index.ts, lib/*/index.ts)
    // are the public surface, re-exports from any layer, and sit above them all.
    ignores: ['**/*.test.ts', '**/*.typetest.ts', '**/*.test-support.ts', 'lib/*/index.ts'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.tsx', '.js', '.mjs'] })],
      // Without these, no-cycle never parses a .ts file it reaches and so never sees a loop.
      'import-x/extensions': ['.ts', '.tsx', '.js', '.mjs'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts', '.tsx'] },
    },
    rules: {
      'import-x/no-restricted-paths': ['error', { zones: layerZones }],
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
    },
  },
  {
    // A function of the package reads in one screen: past 80 lines, split it where its parts have
    // names. Tests and test support are exempt.
    files: ['lib/**/*.ts'],
    ignores: ['**/*.test.ts', '**/*.typetest.ts', '**/*.test-support.ts'],
    rules: { 'max-lines-per-function': ['error', { max: 80 }] },
  },
  {
    // One import path per name: the kit's error classes come from lib/errors.ts, never through a
    // module that once forwarded them.
    files: ['lib/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { regex: '(^|/)engine/options$|^\\./options$', importNames: ['ConfigurationError'], message: 'import ConfigurationError from lib/errors.ts' },
            { regex: '(^|/)http-error$', importNames: ['HttpError'], message: 'import HttpError from lib/errors.ts' },
            { regex: '(^|/)file-stream$', importNames: ['FileChangedError'], message: 'import FileChangedError from lib/errors.ts' },
          ],
        },
      ],
    },
  },
  {
    // The demo uses the package as an installed dependency, by its name, like any app (its tests
    // may still reach the package's test support, lib/**/*.test-support.ts, such as the S3 server).
    files: ['app/**/*.{ts,tsx}', 'db/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ regex: '^(@/lib|(\\.\\./)+lib)(/|$)', message: "import 'next-downloadview' or one of its subpaths" }] },
      ],
    },
  },
  {
    // Their tests too, except for test helpers that live in lib/ and are not part of the package.
    files: ['app/**/*.test.ts', 'db/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ regex: '^(@/lib|(\\.\\./)+lib)(/index)?$', message: "import 'next-downloadview' or one of its subpaths" }] },
      ],
    },
  },
);
