import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FileSystemStorage } from '../storage/file-system-storage';
import { objectDownload } from './object-download';
import { pathDownload } from './path-download';
import { storageDownload } from './storage-download';
import { httpDownload } from './http-download';

// Settings that exist only where the server starts (`process.env.MEDIA_ROOT!` is undefined while
// `next build` loads every route) are checked at the first request, and a route set up wrong says
// so there: a 500 naming the problem and one log line, never a 404 that looks like a missing file.

let tmp: string;
let root: string;
let log: ReturnType<typeof vi.spyOn>;

beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'runtime-settings-'));
  root = path.join(tmp, 'media');
  await mkdir(root);
  await writeFile(path.join(root, 'a.txt'), 'hello\n');
  log = vi.spyOn(console, 'error').mockImplementation(() => undefined);
});

afterEach(async () => {
  log.mockRestore();
  await rm(tmp, { recursive: true, force: true });
});

const unset = process.env.NEXT_DOWNLOADVIEW_TEST_UNSET_VARIABLE;
const catchAll = (...segments: string[]) => ({ params: Promise.resolve({ path: segments }) });
const get = (url = 'http://test/media/a.txt') => new Request(url);

/** The lines logged that mention `text`. */
function logged(text: string): string[] {
  return log.mock.calls.map((call: unknown[]) => call.map(String).join(' ')).filter((line: string) => line.includes(text));
}

describe('a setting that is undefined when the route loads', () => {
  it('pathDownload takes root: undefined at load, and names it at the first request', async () => {
    const { GET } = pathDownload({ root: unset });
    const response = await GET(get(), catchAll('a.txt'));
    expect(response.status).toBe(500);
    const body = await response.text();
    expect(body).toContain('pathDownload: root is undefined at runtime');
    expect(body).toContain('MEDIA_ROOT');
    expect(logged('pathDownload: root is undefined')).toHaveLength(1);
  });

  it('logs the mistake once, not once per request', async () => {
    const missing = path.join(tmp, 'logged-once');
    const { GET } = pathDownload({ root: missing });
    for (let i = 0; i < 3; i++) expect((await GET(get(), catchAll('a.txt'))).status).toBe(500);
    expect(logged(missing)).toHaveLength(1);
  });

  it('FileSystemStorage takes an undefined root, and storageDownload names it at the first request', async () => {
    const storage = new FileSystemStorage(unset);
    const { GET, HEAD } = storageDownload({ storage });
    for (const handler of [GET, HEAD]) {
      const response = await handler(get(), catchAll('a.txt'));
      expect(response.status).toBe(500);
      expect(await response.text()).toMatch(/FileSystemStorage: root is undefined at runtime|^$/);
    }
    expect(() => storage.root).toThrow(/FileSystemStorage: root is undefined at runtime/);
  });

  it('offload rules over a storage whose root is undefined are checked at the first request', async () => {
    const storage = new FileSystemStorage(unset);
    const { GET } = storageDownload({ storage, offload: [{ backend: 'nginx', source: storage, destination: '/_protected/' }] });
    const response = await GET(get(), catchAll('a.txt'));
    expect(response.status).toBe(500);
    expect(await response.text()).toContain('root is undefined at runtime');
  });

  it('a mistake in the code itself still throws when the route loads', () => {
    expect(() => pathDownload({ root: '' })).toThrow(/root must be a non-empty path/);
    expect(() => pathDownload({})).toThrow(/give a root, or a fixed path/);
    expect(() => storageDownload({ storage: {} as never })).toThrow(/Storage interface/);
    expect(() => new FileSystemStorage('')).toThrow(/non-empty path/);
  });

  it('serves once the value is there: a root given at start', async () => {
    const { GET } = pathDownload({ root });
    const response = await GET(get(), catchAll('a.txt'));
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('hello\n');
  });
});

describe('a root that does not exist or is not a folder', () => {
  it('is a 500 naming the option, with the path only in the log', async () => {
    const missing = path.join(tmp, 'no-such-folder');
    const { GET } = pathDownload({ root: missing });
    const response = await GET(get(), catchAll('a.txt'));
    expect(response.status).toBe(500);
    const body = await response.text();
    expect(body).toContain('pathDownload: root does not exist');
    expect(body).not.toContain(missing);
    expect(logged(missing)).toHaveLength(1);
  });

  it('is found once the folder appears (a volume mounted after start)', async () => {
    const later = path.join(tmp, 'later');
    const { GET } = pathDownload({ root: later });
    expect((await GET(get(), catchAll('a.txt'))).status).toBe(500);
    await mkdir(later);
    await writeFile(path.join(later, 'a.txt'), 'now\n');
    const response = await GET(get(), catchAll('a.txt'));
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('now\n');
  });

  it('is a 500 when the root is a file, also for a fixed path under it', async () => {
    const file = path.join(root, 'a.txt');
    for (const handlers of [pathDownload({ root: file }), pathDownload({ root: file, path: 'x.txt' })]) {
      const response = await handlers.GET(get(), catchAll('a.txt'));
      expect(response.status).toBe(500);
      expect(await response.text()).toContain('pathDownload: root is not a folder');
    }
  });
});

describe('a route without the segment the factory reads', () => {
  it('pathDownload in a folder without [...path] fails loudly, not 404', async () => {
    const { GET } = pathDownload({ root });
    const response = await GET(get('http://test/media'), { params: Promise.resolve({}) });
    expect(response.status).toBe(500);
    expect(await response.text()).toContain('pathDownload: the route has no [...path] segment');
    expect(logged('it has no dynamic segment')).toHaveLength(1);
  });

  it('a param naming a segment the route does not have fails loudly, naming the segments it has', async () => {
    const { GET } = storageDownload({ storage: new FileSystemStorage(root), param: 'file' });
    const response = await GET(get(), catchAll('a.txt'));
    expect(response.status).toBe(500);
    expect(await response.text()).toContain('storageDownload: the route has no [...file] segment');
    expect(logged('its segments: path')).toHaveLength(1);
  });

  it('httpDownload with a base reads its param the same way', async () => {
    const { GET } = httpDownload({ base: 'http://127.0.0.1:9/files/', param: 'rest' });
    const response = await GET(get(), catchAll('a.txt'));
    expect(response.status).toBe(500);
    expect(await response.text()).toContain('httpDownload: the route has no [...rest] segment');
  });

  it('a segment that is there but empty (an optional catch-all at its root) is a 404, not a mistake', async () => {
    const { GET } = pathDownload({ root });
    expect((await GET(get('http://test/media'), { params: Promise.resolve({ path: undefined }) })).status).toBe(404);
  });
});

describe('objectDownload fields', () => {
  it('refuses an unknown mapping at load, naming it', () => {
    expect(() => objectDownload({ storage: new FileSystemStorage(root), getObject: () => undefined, fields: { file: 'f', mime: 'x' } as never })).toThrow(
      /unknown field mapping "mime"/,
    );
  });
});
