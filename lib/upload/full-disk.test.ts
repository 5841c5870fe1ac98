import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statfsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorResponse } from '../http/http-error';
import { HttpError } from '../errors';
import { FileSystemStorage } from '../storage/file-system-storage';
import { receiveUpload } from './receive-upload';

// A full disk on every write path, on a real file system of 1 MiB (a tmpfs mounted here, as
// root). Where mounting is not allowed (not root, a container without CAP_SYS_ADMIN) the same
// assertions run on a real folder with a write that fails with ENOSPC, and the test says so.

const MiB = 1024 * 1024;
let mountPoint: string;
let mounted = false;

beforeAll(() => {
  mountPoint = mkdtempSync(path.join(os.tmpdir(), 'full-disk-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0700', 'tmpfs', mountPoint], { stdio: 'pipe' });
    mounted = true;
  } catch (error) {
    console.warn(`full-disk.test: cannot mount a tmpfs (${String(error).split('\n')[0]}); an injected ENOSPC stands in for the full disk`);
  }
});

afterAll(() => {
  if (mounted) execFileSync('umount', [mountPoint]);
  rmSync(mountPoint, { recursive: true, force: true });
});

/** Every file left under `root` (dotfiles, the `.part` temporaries, included). */
function leftovers(root: string): string[] {
  try {
    return readdirSync(root, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => path.relative(root, path.join(entry.parentPath, entry.name)));
  } catch {
    return [];
  }
}

/** Content larger than the file system: 2 MiB in 64 KiB chunks (or an ENOSPC midway where nothing could be mounted). */
async function* tooBig(): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < 32; i++) {
    if (!mounted && i === 4) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    yield new Uint8Array(64 * 1024).fill(i);
  }
}

function usedBytes(): number {
  const stats = statfsSync(mountPoint);
  return (stats.blocks - stats.bfree) * stats.bsize;
}

describe('a full disk', () => {
  it('is a 507 from FileSystemStorage.save, with nothing left behind and the space given back', async () => {
    const root = path.join(mountPoint, 'save');
    const storage = new FileSystemStorage(root);
    const before = usedBytes();
    const error = await storage.save('big.bin', tooBig()).then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(error).toBeInstanceOf(HttpError);
    expect((error as HttpError).status).toBe(507);
    expect(leftovers(root)).toEqual([]);
    // The folder the save made may stay; the file's blocks are free again.
    if (mounted) expect(usedBytes() - before).toBeLessThan(64 * 1024);
    const response = errorResponse(error);
    expect(response.status).toBe(507);
    expect(await response.text()).toBe('Insufficient Storage\n');
    // A file that fits is still saved.
    expect((await storage.save('small.txt', 'fits')).size).toBe(4);
  });

  it('is a 507 from receiveUpload, with nothing left behind', async () => {
    const root = path.join(mountPoint, 'uploads');
    const storage = new FileSystemStorage(root);
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(2 * MiB).fill(7)]), 'big.bin');
    const request = new Request('http://x/api/files', { method: 'POST', body: form });
    const failing = mounted
      ? storage
      : Object.assign(Object.create(storage) as FileSystemStorage, {
          save: (name: string, content: AsyncIterable<Uint8Array>, options: object) =>
            storage.save(name, (async function* () {
              let seen = 0;
              for await (const chunk of content) {
                seen += chunk.byteLength;
                if (seen > MiB) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
                yield chunk;
              }
            })(), options),
        });
    const error = await receiveUpload(request, failing, { maxBytes: 4 * MiB, name: () => 'uploads/big.bin' }).then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect((error as HttpError).status).toBe(507);
    expect(leftovers(root)).toEqual([]);
  });
});
