import { mkdtempSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { canonicalRoot, insideRoot, isHidden } from './confine';

const base = mkdtempSync(path.join(os.tmpdir(), 'confine-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('insideRoot', () => {
  it.each([
    ['/media', '/media/a.txt', 'a.txt'],
    ['/media', '/media/d/a.txt', path.join('d', 'a.txt')],
    ['/media', '/media/..a', '..a'],
  ])('%s contains %s as %s', (root, file, relative) => {
    expect(insideRoot(root, file)).toBe(relative);
  });

  it.each([
    ['/media', '/media2/a.txt'],
    ['/media', '/'],
    ['/media', '/etc/passwd'],
    ['/media', '/media'],
  ])('%s does not contain %s', (root, file) => {
    expect(insideRoot(root, file)).toBeUndefined();
  });

  it('counts the root itself only when asked', () => {
    expect(insideRoot('/media', '/media', true)).toBe('');
  });
});

describe('isHidden', () => {
  it.each([
    ['.env', true],
    [path.join('a', '.git', 'config'), true],
    [path.join('a', 'b.txt'), false],
    ['a.b', false],
  ])('%s: %s', (relative, hidden) => {
    expect(isHidden(relative)).toBe(hidden);
  });
});

describe('canonicalRoot', () => {
  it('resolves symlinks in the root', async () => {
    const real = path.join(base, 'real');
    mkdirSync(real);
    symlinkSync(real, path.join(base, 'link'));
    expect(await canonicalRoot(path.join(base, 'link'))).toBe(real);
  });

  it('does not keep a failure: a root created later is found', async () => {
    const later = path.join(base, 'later');
    await expect(canonicalRoot(later)).rejects.toMatchObject({ code: 'ENOENT' });
    mkdirSync(later);
    expect(await canonicalRoot(later)).toBe(later);
  });
});
