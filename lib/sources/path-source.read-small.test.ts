import { rename, symlink, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HttpError, FileChangedError } from '../errors';
import { SMALL_BODY_SIZE } from '../streams/file-stream';
import { pathSource } from './path-source';
import { temporaryTree, type TemporaryTree } from '../helpers.test-support';

let root: string;

let tree: TemporaryTree;

beforeEach(() => {
  tree = temporaryTree('path-source-read-small-test', {
    'a.txt': 'alpha',
    'large.bin': Buffer.alloc(SMALL_BODY_SIZE + 1, 1),
    'other.txt': 'other',
  });
  root = tree.base;
});

afterEach(() => tree.remove());

describe('pathSource readSmall', () => {
  it('reads a small file, or a small range of it, at once', async () => {
    const source = await pathSource(path.join(root, 'a.txt'), root);
    expect(Buffer.from((await source.readSmall!())!).toString()).toBe('alpha');
    expect(Buffer.from((await source.readSmall!({ start: 1, end: 3 }))!).toString()).toBe('lph');
  });

  it('gives undefined for a body over SMALL_BODY_SIZE, which is then streamed', async () => {
    const source = await pathSource(path.join(root, 'large.bin'), root);
    expect(await source.readSmall!()).toBeUndefined();
    expect((await source.readSmall!({ start: 0, end: SMALL_BODY_SIZE - 1 }))?.byteLength).toBe(SMALL_BODY_SIZE);
    expect(await source.readSmall!({ start: 0, end: SMALL_BODY_SIZE })).toBeUndefined();
  });

  it('refuses a file replaced since its stat (FileChangedError), so the request looks it up again', async () => {
    const source = await pathSource(path.join(root, 'a.txt'), root);
    await writeFile(path.join(root, 'new.txt'), 'a new version');
    await rename(path.join(root, 'new.txt'), path.join(root, 'a.txt'));
    expect(() => source.readSmall!()).toThrow(FileChangedError);
  });

  it('never follows a symlink swapped in for the file after its stat: 404', async () => {
    const source = await pathSource(path.join(root, 'a.txt'), root);
    await unlink(path.join(root, 'a.txt'));
    await symlink(path.join(root, 'other.txt'), path.join(root, 'a.txt'));
    expect(() => source.readSmall!()).toThrow(HttpError);
    expect(() => source.readSmall!()).toThrow(/Not Found/);
  });

  it('answers 404 for a file deleted since its stat', async () => {
    const source = await pathSource(path.join(root, 'a.txt'), root);
    await unlink(path.join(root, 'a.txt'));
    expect(() => source.readSmall!()).toThrow(HttpError);
  });

  it('is absent with syncFs: false: every read goes through the thread pool', async () => {
    const source = await pathSource(path.join(root, 'a.txt'), root, { syncFs: false });
    expect(source.readSmall).toBeUndefined();
  });
});
