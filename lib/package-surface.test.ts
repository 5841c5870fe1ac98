import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The built package (dist/, made by `npm run build:package`) as an app sees it: what each entry
// point loads, and what the root exports.

const here = path.dirname(fileURLToPath(import.meta.url));
const manifest = JSON.parse(readFileSync(path.join(here, 'package.json'), 'utf8')) as {
  exports: Record<string, string | { types: string; default: string }>;
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
};

function entryFile(subpath: string): string {
  const target = manifest.exports[subpath];
  if (!target || typeof target === 'string') throw new Error(`no export ${subpath}`);
  const file = path.join(here, target.default);
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run build:package\` first`);
  return file;
}

/** Every module specifier a built file reaches through static imports and re-exports. */
function reachable(file: string, seen = new Set<string>(), external = new Set<string>()): Set<string> {
  if (seen.has(file)) return external;
  seen.add(file);
  const code = readFileSync(file, 'utf8');
  // Emitted statements start at column 0; a declaration (`export function`, `export const x =`)
  // stops the match at its first `(`, `=`, `;` or quote, so a comment further on is never read.
  for (const match of code.matchAll(/^(?:import|export)\s[^'";(=]*?\bfrom\s*['"]([^'"]+)['"]|^import\s*['"]([^'"]+)['"]/gm)) {
    const specifier = (match[1] ?? match[2])!;
    if (specifier.startsWith('.')) reachable(path.resolve(path.dirname(file), specifier), seen, external);
    else external.add(specifier);
  }
  return external;
}

/**
 * The type-only names a declaration file exports: `type X` inside `export { ... }`, and every name
 * of `export type { ... }`.
 */
function rootTypeNames(declarations: string): string[] {
  const names: string[] = [];
  for (const [, typeOnly, list] of declarations.matchAll(/^export (type )?\{([^}]*)\}/gm)) {
    for (const item of list!.split(',').map((entry) => entry.trim()).filter(Boolean)) {
      const typed = /^type\s+(\w+)/.exec(item);
      if (typed) names.push(typed[1]!);
      else if (typeOnly) names.push(/^(\w+)/.exec(item)![1]!);
    }
  }
  return names.sort();
}

describe('rootTypeNames', () => {
  it('counts both forms of type-only exports, and no values', () => {
    expect(rootTypeNames("export { a, type B } from './x.js';\nexport type { C, D } from './y.js';\nexport { e } from './z.js';")).toEqual(['B', 'C', 'D']);
  });
});

describe('the package next-downloadview', () => {
  describe('its root entry', () => {
    const loaded = [...reachable(entryFile('.'))];

    it('loads neither drizzle-orm, busboy, file-type, node:assert, nor next itself', () => {
      for (const heavy of ['drizzle-orm', '@fastify/busboy', 'file-type', 'node:assert', 'assert', 'next']) {
        expect(loaded.filter((name) => name === heavy || name.startsWith(`${heavy}/`))).toEqual([]);
      }
    });

    it('loads nothing lazily either: no dynamic import() anywhere in its module graph', () => {
      const files = new Set<string>();
      reachable(entryFile('.'), files);
      expect(files.size).toBeGreaterThan(10);
      expect([...files].filter((file) => /\bimport\s*\(/.test(readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, '')))).toEqual([]);
    });

    it('loads nothing it does not declare as a dependency', () => {
      const declared = Object.keys(manifest.dependencies);
      expect(loaded.filter((name) => !name.startsWith('node:') && !declared.includes(name))).toEqual([]);
    });

    it('holds about twenty names: the factories, their options and source types, and the errors', () => {
      const script = `import(${JSON.stringify(entryFile('.'))}).then((m) => console.log(JSON.stringify(Object.keys(m).sort())))`;
      const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
      expect(run.stderr).toBe('');
      const values = JSON.parse(run.stdout) as string[];
      expect(values).toEqual([
        'ConfigurationError',
        'HttpError',
        'errorResponse',
        'httpDownload',
        'objectDownload',
        'pathDownload',
        'sendFile',
        'sourceDownload',
        'storageDownload',
        'virtualDownload',
        'withErrorResponses',
      ]);
      const declarations = readFileSync(entryFile('.').replace(/\.js$/, '.d.ts'), 'utf8');
      expect(rootTypeNames(declarations)).toEqual([
        'ActiveContent',
        'ByteRange',
        'CachePolicy',
        'Delivery',
        'DeliveryOptions',
        'DownloadHandlers',
        'DownloadOptions',
        'HttpDownloadOptions',
        'ObjectDownloadOptions',
        'ObjectFields',
        'PathDownloadOptions',
        'RouteParams',
        'SendFileOptions',
        'Source',
        'SourceDownloadOptions',
        'SourceMeta',
        'StorageDownloadOptions',
        'VirtualDownloadOptions',
        'VirtualFile',
      ]);
      expect(values.length + rootTypeNames(declarations).length).toBeLessThanOrEqual(30);
    });

    it('loads in a plain Node process without node:assert', () => {
      const script = `import(${JSON.stringify(entryFile('.'))}).then(() => console.log(JSON.stringify(process.moduleLoadList)))`;
      const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
      const builtins = JSON.parse(run.stdout) as string[];
      expect(builtins.filter((name) => /\bassert\b/.test(name) && name.startsWith('NativeModule assert'))).toEqual([]);
    });
  });

  describe('its shipped files', () => {
    it('import only node: builtins, declared dependencies and peers', () => {
      const allowed = [...Object.keys(manifest.dependencies), ...Object.keys(manifest.peerDependencies)];
      const undeclared = new Set<string>();
      const seen = new Set<string>();
      for (const subpath of Object.keys(manifest.exports).filter((name) => name !== './package.json')) {
        for (const name of reachable(entryFile(subpath), seen)) {
          const base = name.startsWith('@') ? name.split('/').slice(0, 2).join('/') : name.split('/')[0]!;
          if (!name.startsWith('node:') && !allowed.includes(base)) undeclared.add(name);
        }
      }
      expect([...undeclared]).toEqual([]);
    });

    it('hold no tests and no test-only helpers', () => {
      const run = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: here, encoding: 'utf8' });
      const files = (JSON.parse(run.stdout) as { files: { path: string }[] }[])[0]!.files.map((file) => file.path);
      expect(files.filter((file) => /\.test\.|\.typetest\.|rfc9110-|fixtures|test-server|storage-contract|event-loop-probe/.test(file))).toEqual([]);
      expect(files).toContain('dist/index.js');
    });
  });

  describe('its subpath entries', () => {
    it('keep drizzle-orm to /drizzle, busboy to /upload, node:assert to /testing', () => {
      const owners: Record<string, string> = { 'drizzle-orm': './drizzle', '@fastify/busboy': './upload', 'node:assert': './testing' };
      for (const subpath of Object.keys(manifest.exports).filter((name) => name !== './package.json')) {
        const loaded = reachable(entryFile(subpath));
        for (const [heavy, owner] of Object.entries(owners)) {
          expect({ subpath, heavy, loads: loaded.has(heavy) }).toEqual({ subpath, heavy, loads: subpath === owner });
        }
      }
    });

    it('resolve under the Edge runtime (edge-light) to a module that declares every name they export', () => {
      const stub = readFileSync(path.join(here, 'edge.ts'), 'utf8');
      const declared = new Set([...stub.matchAll(/^export const (\w+)/gm)].map((m) => m[1]));
      for (const [subpath, target] of Object.entries(manifest.exports)) {
        if (typeof target === 'string' || !('edge-light' in target)) continue;
        expect((target as Record<string, string>)['edge-light']).toBe('./dist/edge.js');
        const script = `import(${JSON.stringify(entryFile(subpath))}).then((m) => console.log(JSON.stringify(Object.keys(m))))`;
        const names = JSON.parse(spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' }).stdout) as string[];
        expect({ subpath, missing: names.filter((name) => !declared.has(name)) }).toEqual({ subpath, missing: [] });
      }
    });

    it('give the download events in /events: one function and its types, loading nothing but the package', () => {
      const script = `import(${JSON.stringify(entryFile('./events'))}).then((m) => console.log(JSON.stringify(Object.keys(m))))`;
      expect(JSON.parse(spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' }).stdout)).toEqual(['configureDownloadEvents']);
      const declarations = readFileSync(entryFile('./events').replace(/\.js$/, '.d.ts'), 'utf8');
      expect(declarations).toMatch(/type DownloadEvent, type DownloadListener, type DownloadOutcome|DownloadEvent[\s\S]*DownloadListener[\s\S]*DownloadOutcome/);
      expect([...reachable(entryFile('./events'))]).toEqual([]);
    });

    it('declare drizzle-orm and next as peers, drizzle-orm optional', () => {
      expect(Object.keys(manifest.peerDependencies).sort()).toEqual(['drizzle-orm', 'next']);
    });
  });
});
