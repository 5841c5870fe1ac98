import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { parseContentDisposition } from 'next-downloadview/testing';
import { e2eBaseURL, mediaRoot, sha256, sha256File } from './helpers';
import { nginxBaseURL } from './offload-helpers';

// Offload through a real nginx (scripts/nginx.mjs, in front of the e2e demo server): the app
// authorises and answers GET /api/accel/<name> with X-Accel-Redirect and no body; nginx sends
// the file from the same media folder. Every request here goes through nginx.

test.use({ baseURL: nginxBaseURL });

/** The URL path of a media file under /api/accel/, each segment percent-encoded. */
function accel(name: string): string {
  return `/api/accel/${name.split('/').map(encodeURIComponent).join('/')}`;
}

const names = ['sample.bin', 'hello.txt', 'report 2026.csv', 'résumé été.txt', '中文报告.txt', 'docs/guide.md'];

test.describe('GET /api/accel/<name> through nginx', () => {
  for (const name of names) {
    test(`sends the same bytes as the file, with nginx's Content-Length: ${name}`, async ({ request }) => {
      const file = path.join(mediaRoot, name);
      const response = await request.get(accel(name));
      expect(response.status()).toBe(200);
      const body = await response.body();
      expect(sha256(body)).toBe(await sha256File(file));
      const headers = response.headers();
      expect(headers['content-length']).toBe(String((await stat(file)).size));
      // The offload headers stay between the app and nginx.
      expect(headers['x-accel-redirect']).toBeUndefined();
      // The app's description of the file survives the hand-over.
      const disposition = parseContentDisposition(headers['content-disposition'] ?? '');
      expect(disposition).toMatchObject({ type: 'attachment', filename: path.posix.basename(name) });
      expect(headers['cache-control']).toBe('private, no-cache, no-transform');
      expect(headers['x-content-type-options']).toBe('nosniff');
      // nginx's own ETag (mtime in seconds), not the app's (milliseconds): nginx sent the file.
      const stats = await stat(file);
      expect(headers['etag']).toBe(`"${Math.floor(stats.mtimeMs / 1000).toString(16)}-${stats.size.toString(16)}"`);
    });
  }

  test('is answered by the app with X-Accel-Redirect, Content-Length: 0 and no body', async ({ request }) => {
    // Straight to the app, past nginx: what nginx gets.
    const response = await request.get(`${e2eBaseURL}${accel('résumé été.txt')}`);
    expect(response.status()).toBe(200);
    expect(response.headers()['x-accel-redirect']).toBe('/_protected/r%C3%A9sum%C3%A9%20%C3%A9t%C3%A9.txt');
    expect(response.headers()['content-length']).toBe('0');
    expect(await response.body()).toHaveLength(0);
  });

  test('keeps the Content-Type the app chose', async ({ request }) => {
    const text = await request.get(accel('hello.txt'));
    expect(text.headers()['content-type']).toBe('text/plain; charset=utf-8');
    const csv = await request.get(accel('report 2026.csv'));
    expect(csv.headers()['content-type']).toBe('text/csv; charset=utf-8');
  });

  test('answers a Range with 206 and exactly those bytes, from nginx', async ({ request }) => {
    const bytes = await readFile(path.join(mediaRoot, 'sample.bin'));
    const response = await request.get(accel('sample.bin'), { headers: { range: 'bytes=1000-1999' } });
    expect(response.status()).toBe(206);
    expect(response.headers()['content-range']).toBe(`bytes 1000-1999/${bytes.length}`);
    expect(response.headers()['content-length']).toBe('1000');
    expect(Buffer.compare(await response.body(), bytes.subarray(1000, 2000))).toBe(0);
  });

  test('answers a suffix Range on a non-ASCII name', async ({ request }) => {
    const bytes = await readFile(path.join(mediaRoot, 'résumé été.txt'));
    const response = await request.get(accel('résumé été.txt'), { headers: { range: 'bytes=-5' } });
    expect(response.status()).toBe(206);
    expect(Buffer.compare(await response.body(), bytes.subarray(bytes.length - 5))).toBe(0);
  });

  test("answers a conditional GET with nginx's ETag with 304", async ({ request }) => {
    const first = await request.get(accel('hello.txt'));
    const etag = first.headers()['etag']!;
    const again = await request.get(accel('hello.txt'), { headers: { 'if-none-match': etag } });
    expect(again.status()).toBe(304);
    expect(await again.body()).toHaveLength(0);
  });

  test('answers HEAD with the length and no body', async ({ request }) => {
    const file = path.join(mediaRoot, 'sample.bin');
    const response = await request.head(accel('sample.bin'));
    expect(response.status()).toBe(200);
    expect(response.headers()['content-length']).toBe(String((await stat(file)).size));
    expect(await response.body()).toHaveLength(0);
  });

  test('downloads a non-ASCII name in the browser, under its own name', async ({ page }, testInfo) => {
    const name = '中文报告.txt';
    await page.setContent(`<a id="link" href="${nginxBaseURL}${accel(name)}">download</a>`);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#link')]);
    expect(await download.failure()).toBeNull();
    expect(download.suggestedFilename()).toBe(name);
    const saved = testInfo.outputPath('download.bin');
    await download.saveAs(saved);
    expect(await sha256File(saved)).toBe(await sha256File(path.join(mediaRoot, name)));
  });
});

test.describe('what nginx does not give out', () => {
  test('the internal location cannot be fetched directly: 404', async ({ request }) => {
    for (const url of ['/_protected/hello.txt', '/_protected/sample.bin', '/_protected/r%C3%A9sum%C3%A9%20%C3%A9t%C3%A9.txt']) {
      const response = await request.get(url);
      expect(response.status(), url).toBe(404);
      expect((await response.body()).toString()).not.toContain('Hello from the media folder');
    }
  });

  test('a refused request gets 403 and none of the bytes', async ({ request }) => {
    const secret = await readFile(path.join(mediaRoot, 'hello.txt'), 'utf8');
    const denied = await request.get(`${accel('hello.txt')}?deny`);
    expect(denied.status()).toBe(403);
    expect(await denied.text()).not.toContain(secret.trim());
  });

  test('a forged or tampered signature gets 403 and none of the bytes', async ({ request }) => {
    const secret = await readFile(path.join(mediaRoot, 'hello.txt'), 'utf8');
    const forged = `${accel('hello.txt')}?expires=4102444800&signature=${'A'.repeat(43)}`;
    const response = await request.get(forged);
    expect(response.status()).toBe(403);
    expect(await response.text()).not.toContain(secret.trim());
  });

  test('a path that leaves the media folder is refused by the app, not served by nginx', async ({ request }) => {
    for (const url of ['/api/accel/..%2f..%2fpackage.json', '/api/accel/%2e%2e/demo.db', '/api/accel/.download-secret']) {
      const response = await request.get(url);
      expect([400, 404], url).toContain(response.status());
      expect(response.headers()['content-length'] === undefined || Number(response.headers()['content-length']) < 100).toBe(true);
    }
  });

  test('a missing file is 404', async ({ request }) => {
    expect((await request.get(accel('no such file.txt'))).status()).toBe(404);
  });
});

test.describe('the rest of the app behind nginx', () => {
  test('a download the app streams itself comes through unchanged', async ({ request }) => {
    const file = path.join(mediaRoot, 'report 2026.csv');
    const response = await request.get(`/api/storage/${encodeURIComponent('report 2026.csv')}`);
    expect(response.status()).toBe(200);
    expect(sha256(await response.body())).toBe(await sha256File(file));
  });
});
