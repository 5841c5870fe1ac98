import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Permissions do not stop root, so the requests run in a child process: when the tests run as
 * root, still as root but without the capabilities that bypass file permissions (so the
 * checkout, wherever it is and whatever its mode, stays readable to its owner, while the
 * fixtures below refuse it); as the test's own user otherwise.
 *
 * base/                (0755)
 *   media/             (0755)  <- the root
 *     ok.txt           (0644)
 *     secret.txt       (0000)  a file the server may not read
 *     locked/          (0000)  a folder it may not enter
 *       a.txt
 *     noexec/          (0644)  a folder it may list but not pass through
 *       a.txt
 */
let base: string;
let root: string;
const libDir = path.resolve(import.meta.dirname, '..');

beforeAll(() => {
  base = mkdtempSync(path.join(os.tmpdir(), 'unreadable-test-'));
  chmodSync(base, 0o755);
  root = path.join(base, 'media');
  mkdirSync(path.join(root, 'locked'), { recursive: true });
  mkdirSync(path.join(root, 'noexec'));
  writeFileSync(path.join(root, 'ok.txt'), 'readable');
  writeFileSync(path.join(root, 'secret.txt'), 'secret');
  writeFileSync(path.join(root, 'locked', 'a.txt'), 'locked');
  writeFileSync(path.join(root, 'noexec', 'a.txt'), 'noexec');
  chmodSync(root, 0o755);
  chmodSync(path.join(root, 'ok.txt'), 0o644);
  chmodSync(path.join(root, 'secret.txt'), 0o000);
  chmodSync(path.join(root, 'locked'), 0o000);
  chmodSync(path.join(root, 'noexec'), 0o644);
});

afterAll(() => {
  chmodSync(path.join(root, 'locked'), 0o755);
  chmodSync(path.join(root, 'noexec'), 0o755);
  rmSync(base, { recursive: true, force: true });
});

/** Runs `script` (an ES module body with `lib` bound to this folder's parent) without permission to bypass file modes. */
function runUnprivileged(script: string): unknown {
  const code = `const lib = ${JSON.stringify(libDir)}; const root = ${JSON.stringify(root)};\n${script}`;
  const node = [process.execPath, '--import', 'tsx', '--input-type=module', '-e', code];
  const [command, ...args] = process.getuid?.() === 0 ? ['setpriv', '--bounding-set=-dac_override,-dac_read_search', ...node] : node;
  const out = execFileSync(command!, args, { cwd: path.resolve(libDir, '..'), encoding: 'utf8', timeout: 30_000 });
  return JSON.parse(out.trim().split('\n').pop()!);
}

describe('a file or folder the server may not read (EACCES)', () => {
  it('is 404 from pathDownload, for GET and HEAD, never 500', () => {
    const statuses = runUnprivileged(`
      const { pathDownload } = await import(lib + '/factories/path-download.ts');
      const { GET, HEAD } = pathDownload({ root });
      const out = {};
      for (const name of ['ok.txt', 'secret.txt', 'locked/a.txt', 'noexec/a.txt']) {
        const params = { path: name.split('/') };
        const get = await GET(new Request('http://x/' + name), { params });
        await get.body?.cancel();
        const head = await HEAD(new Request('http://x/' + name, { method: 'HEAD' }), { params });
        out[name] = [get.status, head.status];
      }
      console.log(JSON.stringify(out));
    `);
    expect(statuses).toEqual({
      'ok.txt': [200, 200],
      // HEAD opens nothing, and the stat of a file needs no read permission.
      'secret.txt': [404, 200],
      'locked/a.txt': [404, 404],
      'noexec/a.txt': [404, 404],
    });
  });

  it('is NotFoundError from FileSystemStorage stat, exists, open and openRanges, never a raw EACCES', () => {
    const results = runUnprivileged(`
      const { FileSystemStorage } = await import(lib + '/storage/file-system-storage.ts');
      const storage = new FileSystemStorage(root);
      const outcome = async (work) => {
        try {
          const value = await work();
          if (Array.isArray(value)) await Promise.all(value.map((s) => s.cancel()));
          else if (value && typeof value.cancel === 'function') await value.cancel();
          return typeof value === 'boolean' ? value : 'ok';
        } catch (error) {
          return error.name + ' ' + (error.status ?? error.code);
        }
      };
      const out = {};
      for (const name of ['ok.txt', 'secret.txt', 'locked/a.txt', 'noexec/a.txt']) {
        out[name] = [
          await outcome(() => storage.stat(name)),
          await outcome(() => storage.exists(name)),
          await outcome(() => storage.open(name)),
          await outcome(() => storage.openRanges(name, [{ start: 0, end: 1 }])),
        ];
      }
      console.log(JSON.stringify(out));
    `);
    const missing = 'NotFoundError 404';
    expect(results).toEqual({
      'ok.txt': ['ok', true, 'ok', 'ok'],
      'secret.txt': ['ok', true, missing, missing],
      'locked/a.txt': [missing, false, missing, missing],
      'noexec/a.txt': [missing, false, missing, missing],
    });
  });
});
