import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import Database from 'better-sqlite3';
import { expect, test, type APIRequestContext } from '@playwright/test';
import type { DownloadJson } from '../app/_lib/downloads';
import { databaseUrl, mediaRoot, sha256 } from './helpers';

// The demo's download log (GET /api/downloads, the Downloads column of the admin page), fed by
// the kit's download events, seen from a real Chromium: a download cancelled in the browser is
// recorded as aborted with the bytes that went out, a whole one as completed with all of them.
//
// The cancelled file is 64 GiB, sparse on disk: at the loopback's few GB/s it takes longer than
// 20 s to send, so it is still mid-body when the browser cancels it, right after it starts,
// without waiting for any particular moment. Its row is written straight into the server's
// database (uploads stop at 2 MiB here); both rows are deleted again afterwards.

const HUGE = 64 * 1024 ** 3;

async function downloadLog(request: APIRequestContext): Promise<DownloadJson[]> {
  const response = await request.get('/api/downloads?limit=500');
  expect(response.status()).toBe(200);
  return ((await response.json()) as { downloads: DownloadJson[] }).downloads;
}

/** A sparse file of `size` bytes under MEDIA_ROOT and its row in the files table. */
async function addHugeFile(name: string, size: number): Promise<number> {
  const storagePath = `uploads/${name}`;
  await mkdir(path.join(mediaRoot, 'uploads'), { recursive: true });
  const file = await open(path.join(mediaRoot, storagePath), 'wx');
  await file.truncate(size);
  await file.close();
  const db = new Database(databaseUrl, { timeout: 10_000 });
  try {
    const now = Date.now();
    const row = db
      .prepare('INSERT INTO files (name, storage_path, size, content_type, sha256, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id')
      .get(name, storagePath, size, 'application/octet-stream', `sparse-${size}-${now}`, now, now) as { id: number };
    return row.id;
  } catch (error) {
    await rm(path.join(mediaRoot, storagePath), { force: true });
    throw error;
  } finally {
    db.close();
  }
}

test.describe('the download log', () => {
  const ids: number[] = [];

  test.afterAll(async ({ request }) => {
    for (const id of ids) expect([204, 404]).toContain((await request.delete(`/api/files/${id}`)).status());
  });

  test('records a download cancelled in the browser as aborted, and a whole one as completed, both on the admin page', async ({ page, request }, testInfo) => {
    const stamp = Date.now();
    const hugeName = `huge-${stamp}.bin`;
    const hugeId = await addHugeFile(hugeName, HUGE);
    ids.push(hugeId);

    const small = randomBytes(1024 * 1024 + 7);
    const form = new FormData();
    form.append('file', new File([small], `whole-${stamp}.bin`));
    const uploaded = await request.post('/api/files', { multipart: form });
    expect(uploaded.status()).toBe(201);
    const smallRow = (await uploaded.json()) as { id: number; size: number };
    ids.push(smallRow.id);

    await page.goto('/');
    // Cancelled: the browser starts saving the 64 GiB file, and the test cancels at once.
    const [started] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: `Download ${hugeName}`, exact: true }).click()]);
    expect(started.suggestedFilename()).toBe(hugeName);
    await started.cancel();
    expect(await started.failure()).toBe('canceled');

    // Whole: the uploaded file, by its Download link.
    const [whole] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: `Download whole-${stamp}.bin`, exact: true }).click()]);
    expect(await whole.failure()).toBeNull();
    const saved = testInfo.outputPath('whole.bin');
    await whole.saveAs(saved);
    expect(sha256(await readFile(saved))).toBe(sha256(small));

    // The rows are written once each body has ended or broken: wait for both.
    let aborted: DownloadJson | undefined;
    let completed: DownloadJson | undefined;
    await expect
      .poll(
        async () => {
          const log = await downloadLog(request);
          aborted = log.find((row) => row.fileId === hugeId);
          completed = log.find((row) => row.fileId === smallRow.id);
          return [aborted?.outcome, completed?.outcome];
        },
        { timeout: 15_000 },
      )
      .toEqual(['aborted', 'completed']);

    expect(aborted).toMatchObject({ route: `/api/files/${hugeId}`, name: hugeName, status: 200, expectedBytes: HUGE });
    expect(aborted!.bytesSent).toBeGreaterThan(0);
    expect(aborted!.bytesSent).toBeLessThan(HUGE);
    expect(Number.isNaN(Date.parse(aborted!.startedAt))).toBe(false);
    expect(completed).toMatchObject({
      route: `/api/files/${smallRow.id}`,
      name: `whole-${stamp}.bin`,
      status: 200,
      bytesSent: small.length,
      expectedBytes: small.length,
    });
    expect(smallRow.size).toBe(small.length);
    // Newest first.
    const log = await downloadLog(request);
    for (let i = 1; i < log.length; i++) expect(Date.parse(log[i - 1]!.startedAt)).toBeGreaterThanOrEqual(Date.parse(log[i]!.startedAt));

    // The admin page: per file, its completed downloads and its latest aborted ones.
    await page.goto('/');
    const hugeCell = page.getByTestId(`downloads-${hugeId}`);
    await expect(hugeCell.getByTestId('completed')).toHaveText('0 completed');
    await expect(hugeCell.getByTestId('aborted')).toHaveCount(1);
    await expect(hugeCell.getByTestId('aborted')).toContainText('of 64 GiB');
    await expect(hugeCell.getByTestId('aborted').locator('data')).toHaveAttribute('value', String(aborted!.bytesSent));
    const smallCell = page.getByTestId(`downloads-${smallRow.id}`);
    await expect(smallCell.getByTestId('completed')).toHaveText('1 completed');
    await expect(smallCell.getByTestId('aborted')).toHaveCount(0);
    await hugeCell.locator('xpath=ancestor::tr').screenshot({ path: testInfo.outputPath('downloads-cell.png') });
  });
});

test('GET /api/downloads refuses a limit that is not a whole number from 1', async ({ request }) => {
  for (const limit of ['abc', '0', '-1', '1.5']) {
    const response = await request.get(`/api/downloads?limit=${limit}`);
    expect(response.status(), `?limit=${limit}`).toBe(400);
    expect(await response.text()).toContain('limit must be a whole number from 1 to 500');
  }
  const capped = await request.get('/api/downloads?limit=100000');
  expect(capped.status()).toBe(200);
  expect(((await capped.json()) as { downloads: unknown[] }).downloads.length).toBeLessThanOrEqual(500);
});

