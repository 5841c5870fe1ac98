import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { expect, test, type Locator, type Page } from '@playwright/test';
import { mediaRoot, sha256, sha256File } from './helpers';

// Files the demo seeds into MEDIA_ROOT (names are NFC).
const mediaFiles = ['hello.txt', 'report 2026.csv', 'résumé été.txt', '中文报告.txt', 'sample.bin'];
const downloadedMediaFiles = ['report 2026.csv', 'résumé été.txt', '中文报告.txt', 'sample.bin'];

/** The link on `/` whose visible text is exactly `name` and whose href starts with `hrefPrefix`. */
function linkTo(page: Page, name: string, hrefPrefix: string): Locator {
  return page.locator(`a[href^="${hrefPrefix}"]`).filter({ hasText: new RegExp(`^${escapeRegExp(name)}$`) });
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

async function clickAndDownload(page: Page, link: Locator, savePath: string) {
  const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
  expect(await download.failure()).toBeNull();
  await download.saveAs(savePath);
  return download;
}

test.describe('home page', () => {
  test('lists the media files and the exports', async ({ page }, testInfo) => {
    await page.goto('/');
    for (const name of mediaFiles) {
      const link = linkTo(page, name, '/api/path/');
      await expect(link, `link to ${name}`).toHaveCount(1);
      const href = await link.getAttribute('href');
      expect(decodeURIComponent((href ?? '').slice('/api/path/'.length))).toBe(name);
    }
    await expect(linkTo(page, 'hello-world.txt', '/api/exports/')).toHaveCount(1);
    await expect(linkTo(page, 'numbers.txt', '/api/exports/')).toHaveCount(1);
    await page.screenshot({ path: testInfo.outputPath('home.png'), fullPage: true });
  });
});

test.describe('browser downloads', () => {
  for (const name of downloadedMediaFiles) {
    test(`media file: ${name}`, async ({ page }, testInfo) => {
      await page.goto('/');
      const saved = testInfo.outputPath('download.bin');
      const download = await clickAndDownload(page, linkTo(page, name, '/api/path/'), saved);
      expect(download.suggestedFilename()).toBe(name);
      expect(await sha256File(saved)).toBe(await sha256File(path.join(mediaRoot, name)));
    });
  }

  test('generated export: hello-world.txt', async ({ page }, testInfo) => {
    await page.goto('/');
    const saved = testInfo.outputPath('download.bin');
    const download = await clickAndDownload(page, linkTo(page, 'hello-world.txt', '/api/exports/'), saved);
    expect(download.suggestedFilename()).toBe('hello-world.txt');
    expect(await sha256File(saved)).toBe(sha256('Hello world!\n'));
  });
});

test.describe('HTTP', () => {
  test('Range bytes=0-99 on sample.bin answers 206 with the first 100 bytes', async ({ request }) => {
    const onDisk = await readFile(path.join(mediaRoot, 'sample.bin'));
    const res = await request.get('/api/path/sample.bin', { headers: { Range: 'bytes=0-99' } });
    expect(res.status()).toBe(206);
    expect(res.headers()['content-range']).toBe(`bytes 0-99/${onDisk.length}`);
    const body = await res.body();
    expect(body.length).toBe(100);
    expect(sha256(body)).toBe(sha256(onDisk.subarray(0, 100)));
  });

  test("hello-world.txt is the seeds' was_modified_since example: 304 to any If-Modified-Since", async ({ request }) => {
    const fresh = await request.get('/api/exports/hello-world.txt');
    expect(fresh.status()).toBe(200);
    expect(await fresh.text()).toBe('Hello world!\n');
    const again = await request.get('/api/exports/hello-world.txt', { headers: { 'if-modified-since': 'Thu, 01 Jan 2026 00:00:00 GMT' } });
    expect(again.status()).toBe(304);
    expect(await again.text()).toBe('');
  });

  test('path traversal is refused', async ({ request }) => {
    const res = await request.get('/api/path/..%2f..%2fetc%2fpasswd');
    expect(res.status()).toBe(400);
    expect(await res.text()).not.toContain('root:');
  });

  test('numbers.txt export: count=N generates 1..N, a bad count is 400', async ({ request }) => {
    const ok = await request.get('/api/exports/numbers.txt?count=5');
    expect(ok.status()).toBe(200);
    expect(await ok.text()).toBe('1\n2\n3\n4\n5\n');
    const bad = await request.get('/api/exports/numbers.txt?count=abc');
    expect(bad.status()).toBe(400);
  });

  test('downloads carry Content-Length on GET and HEAD through the kit server, and the private header never leaks', async ({ request }) => {
    const size = (await readFile(path.join(mediaRoot, 'sample.bin'))).length;
    for (const method of ['GET', 'HEAD'] as const) {
      const res = await request.fetch('/api/path/sample.bin', { method });
      expect(res.status(), method).toBe(200);
      expect(res.headers()['content-length'], method).toBe(String(size));
      expect(res.headers()['x-downloadview-length'], method).toBeUndefined();
    }
    const generated = await request.get('/api/exports/numbers.txt?count=1000');
    expect(generated.headers()['content-length']).toBe(String((await generated.body()).length));
  });

  test('a text range asked for with Accept-Encoding: gzip comes back as the exact bytes, not recompressed', async ({ request }) => {
    const res = await request.get('/api/path/hello.txt', { headers: { Range: 'bytes=0-4', 'Accept-Encoding': 'gzip' } });
    expect(res.status()).toBe(206);
    expect(res.headers()['content-encoding']).toBeUndefined();
    expect(res.headers()['content-length']).toBe('5');
    expect((await res.body()).toString()).toBe('Hello');
  });
});
