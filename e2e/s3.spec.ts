import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { expect, test, type APIRequestContext } from '@playwright/test';
import { S3Storage } from '../lib/s3';
import { readZip, sha256 } from './helpers';
import { s3Bucket, s3Credentials, s3DemoBaseURL, s3Endpoint } from './s3-helpers';

// The demo with FILES_STORAGE=s3://e2e-files/files and FILES_DELIVERY=redirect (see
// playwright.config.ts): the files table's bytes live in an S3-compatible server, and
// /api/files/{id} answers with a 307 to a presigned URL of it.

const bucket = new S3Storage({ bucket: s3Bucket, prefix: 'files', endpoint: s3Endpoint, credentials: s3Credentials });

async function upload(request: APIRequestContext, name: string, buffer: Buffer): Promise<number> {
  const response = await request.post(`${s3DemoBaseURL}/api/files`, { multipart: { file: { name, mimeType: 'application/octet-stream', buffer } } });
  expect(response.status(), await response.text()).toBe(201);
  return ((await response.json()) as { id: number }).id;
}

test.describe('the demo on S3', () => {
  test('says which storage and delivery it uses', async ({ page }) => {
    await page.goto(`${s3DemoBaseURL}/`);
    const note = page.getByTestId('files-storage');
    await expect(note).toContainText(`s3://${s3Bucket}/files/`);
    await expect(note).toContainText('redirected');
  });

  test('an upload goes to the bucket, and Chromium saves it through the redirect under its non-ASCII name', async ({ page, request }, testInfo) => {
    const name = 'Übersicht — 報告 (final).bin';
    const content = randomBytes(300 * 1024 + 7);
    const id = await upload(request, name, content);

    const redirect = await request.get(`${s3DemoBaseURL}/api/files/${id}`, { maxRedirects: 0 });
    expect(redirect.status()).toBe(307);
    expect(redirect.headers()['cache-control']).toBe('private, no-store');
    const location = redirect.headers()['location']!;
    expect(location.startsWith(`${s3Endpoint}/${s3Bucket}/files/uploads/`)).toBe(true);
    expect(new URL(location).searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);

    await page.goto(`${s3DemoBaseURL}/`);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: `Download ${name}`, exact: true }).click()]);
    expect(await download.failure()).toBeNull();
    expect(download.suggestedFilename()).toBe(name);
    // The bytes came from the store: Chromium followed the 307 and kept the store's headers.
    expect(download.url().startsWith(`${s3Endpoint}/${s3Bucket}/files/uploads/`)).toBe(true);
    const saved = testInfo.outputPath('redirected.bin');
    await download.saveAs(saved);
    expect(sha256(await readFile(saved))).toBe(sha256(content));
  });

  test('the upload form sends a file straight to the bucket, and the row has its size, checked type and SHA-256', async ({ page, request }) => {
    const name = `direct ${Date.now()} résumé.pdf`;
    const content = Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(2 * 1024 * 1024)]);
    const puts: string[] = [];
    const posts: string[] = [];
    page.on('request', (sent) => {
      if (sent.method() === 'PUT') puts.push(sent.url());
      if (sent.method() === 'POST') posts.push(new URL(sent.url()).pathname);
    });
    await page.goto(`${s3DemoBaseURL}/`);
    await expect(page.getByText('sent by the browser straight to the bucket')).toBeVisible();
    // A 1 MB/s uplink, so the progress of the PUT can be seen.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 1_000_000 });
    await page.getByLabel('File to upload').setInputFiles({ name, mimeType: 'application/pdf', buffer: content });
    await page.getByRole('button', { name: 'Upload', exact: true }).click();
    const progress = page.locator('#upload-progress');
    await expect(progress).toBeVisible();
    await expect.poll(async () => Number(await progress.getAttribute('value')), { timeout: 10_000 }).toBeGreaterThan(0);
    await expect(page.getByRole('status')).toContainText(`Uploaded ${name}`, { timeout: 20_000 });
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    // The bytes went to the store, not through the app.
    expect(puts).toHaveLength(1);
    expect(puts[0]!.startsWith(`${s3Endpoint}/${s3Bucket}/files/pending/`)).toBe(true);
    expect(posts).toEqual(['/api/files/direct', '/api/files/direct/complete']);
    const rows = (await (await request.get(`${s3DemoBaseURL}/api/files`)).json()) as { id: number; name: string; size: number; contentType: string; sha256: string }[];
    const row = rows.find((candidate) => candidate.name === name);
    expect(row).toMatchObject({ size: content.length, contentType: 'application/pdf', sha256: sha256(content) });
    await expect(page.getByRole('link', { name: `Download ${name}`, exact: true })).toBeVisible();
    // The object is under uploads/ with the same type and SHA-256, and nothing is left pending.
    const objects: { name: string; size: number }[] = [];
    for await (const file of bucket.list('')) objects.push(file);
    expect(objects.filter((file) => file.name.startsWith('pending/'))).toEqual([]);
    const stored = objects.filter((file) => file.name.startsWith('uploads/') && file.size === content.length);
    const stats = await Promise.all(stored.map((file) => bucket.stat(file.name)));
    expect(stats.find((file) => file.sha256 === sha256(content))).toMatchObject({ contentType: 'application/pdf' });
    // And downloads byte for byte.
    const download = await request.get(`${s3DemoBaseURL}/api/files/${row!.id}?stream`);
    expect(sha256(await download.body())).toBe(sha256(content));
  });

  test('a body larger than the presigned upload is refused by the store itself, and nothing is recorded', async ({ page, request }) => {
    await page.goto(`${s3DemoBaseURL}/`);
    const before = ((await (await request.get(`${s3DemoBaseURL}/api/files`)).json()) as unknown[]).length;
    const result = await page.evaluate(async () => {
      const small = new Uint8Array(16);
      const digest = Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', small)), (b) => b.toString(16).padStart(2, '0')).join('');
      const start = await fetch('/api/files/direct', { method: 'POST', body: JSON.stringify({ name: 'small.bin', size: 16, sha256: digest }) });
      const ticket = (await start.json()) as { url: string; headers: Record<string, string>; key: string };
      const put = await fetch(ticket.url, { method: 'PUT', headers: ticket.headers, body: new Uint8Array(1024 * 1024) });
      const complete = await fetch('/api/files/direct/complete', { method: 'POST', body: JSON.stringify({ key: ticket.key }) });
      const tooLarge = await fetch('/api/files/direct', { method: 'POST', body: JSON.stringify({ name: 'huge.bin', size: 2 ** 40, sha256: digest }) });
      return { start: start.status, put: put.status, putText: await put.text(), complete: complete.status, tooLarge: tooLarge.status };
    });
    expect(result).toMatchObject({ start: 201, put: 403, complete: 409, tooLarge: 413 });
    expect(result.putText).toContain('SignatureDoesNotMatch');
    expect(((await (await request.get(`${s3DemoBaseURL}/api/files`)).json()) as unknown[]).length).toBe(before);
  });

  test('a seeded sample file was copied to the bucket and downloads under its name', async ({ page }, testInfo) => {
    await page.goto(`${s3DemoBaseURL}/`);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download résumé été.txt', exact: true }).click()]);
    expect(download.suggestedFilename()).toBe('résumé été.txt');
    const saved = testInfo.outputPath('seeded.txt');
    await download.saveAs(saved);
    expect(sha256(await readFile(saved))).toBe(sha256(await new Response(await bucket.open('résumé été.txt')).arrayBuffer().then((b) => Buffer.from(b))));
  });

  test('a download interrupted half way resumes through the streamed route with the missing bytes only', async ({ request }) => {
    const content = randomBytes(2 * 1024 * 1024 + 11);
    const url = `${s3DemoBaseURL}/api/files/${await upload(request, 'resume me.bin', content)}?stream`;
    const head = await request.head(url);
    expect(head.status()).toBe(200);
    const etag = head.headers()['etag']!;
    expect(etag).toMatch(/^"[0-9a-f]{64}"$/);
    const size = content.length;
    const half = Math.floor(size / 2);
    const first = await request.get(url, { headers: { Range: `bytes=0-${half - 1}` } });
    expect(first.status()).toBe(206);
    const rest = await request.get(url, { headers: { Range: `bytes=${half}-`, 'If-Range': etag } });
    expect(rest.status()).toBe(206);
    expect(rest.headers()['content-range']).toBe(`bytes ${half}-${size - 1}/${size}`);
    const restBody = await rest.body();
    expect(restBody.length).toBe(size - half);
    expect(sha256(Buffer.concat([await first.body(), restBody]))).toBe(sha256(content));
  });

  test('a row whose object is gone from the bucket is 404, streamed or redirected, never 500', async ({ request }) => {
    const id = await upload(request, 'vanishing.txt', Buffer.from('soon gone'));
    const [row] = ((await (await request.get(`${s3DemoBaseURL}/api/files`)).json()) as { id: number; name: string }[]).filter((file) => file.id === id);
    expect(row?.name).toBe('vanishing.txt');
    let removed = 0;
    for await (const file of bucket.list('uploads/')) {
      const bytes = Buffer.from(await new Response(await bucket.open(file.name)).arrayBuffer());
      if (bytes.toString() === 'soon gone') removed += Number(await bucket.delete(file.name));
    }
    expect(removed).toBe(1);
    expect((await request.get(`${s3DemoBaseURL}/api/files/${id}`, { maxRedirects: 0 })).status()).toBe(404);
    expect((await request.get(`${s3DemoBaseURL}/api/files/${id}?stream`)).status()).toBe(404);
    // Its row goes too, whatever is left of it in the bucket.
    expect((await request.delete(`${s3DemoBaseURL}/api/files/${id}`)).status()).toBe(204);
  });

  test('the ZIP export reads every file from the bucket', async ({ request }) => {
    const content = randomBytes(70 * 1024 + 3);
    const id = await upload(request, 'zipped from s3.bin', content);
    try {
      const response = await request.get(`${s3DemoBaseURL}/api/exports/files.zip`);
      expect(response.status()).toBe(200);
      const bytes = await response.body();
      expect(Number(response.headers()['content-length'])).toBe(bytes.length);
      const entry = readZip(bytes).find((file) => file.name === 'zipped from s3.bin');
      expect(entry, 'the uploaded file is in the archive').toBeDefined();
      expect(sha256(entry!.data)).toBe(sha256(content));
    } finally {
      expect((await request.delete(`${s3DemoBaseURL}/api/files/${id}`)).status()).toBe(204);
    }
  });
});
