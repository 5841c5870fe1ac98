import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { GET } from './route.bench';

const get = (name: string) => GET(new Request(`http://test/api/bench/naive/${encodeURIComponent(name)}`), { params: Promise.resolve({ name }) });

describe('the naive bench route', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'naive-'));
    mkdirSync(path.join(root, 'bench'));
    writeFileSync(path.join(root, 'bench', 'small.bin'), 'small bytes');
    writeFileSync(path.join(root, 'secret.txt'), 'not for the bench');
    vi.stubEnv('MEDIA_ROOT', root);
  });
  afterAll(() => {
    vi.unstubAllEnvs();
    rmSync(root, { recursive: true, force: true });
  });

  it('is a 404 unless the bench started the server', async () => {
    vi.stubEnv('BENCH_ROUTES', '');
    expect((await get('small.bin')).status).toBe(404);
  });

  it("serves the bench's test files when it did", async () => {
    vi.stubEnv('BENCH_ROUTES', '1');
    const response = await get('small.bin');
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('small bytes');
  });

  it.each(['../secret.txt', 'secret.txt', '..', 'small.bin/', 'SMALL.BIN'])('refuses %j with a 404 even then', async (name) => {
    vi.stubEnv('BENCH_ROUTES', '1');
    const response = await get(name);
    expect(response.status).toBe(404);
    await response.body?.cancel();
  });
});
