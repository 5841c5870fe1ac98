import { createHash } from 'node:crypto';
import { expect, test, type APIRequestContext } from '@playwright/test';
import { s3DemoBaseURL, s3Endpoint } from './s3-helpers';

// Repr-Digest (RFC 9530) through the demo's server: the files table keeps each file's SHA-256,
// so /api/files/{id} sends it, and a client that resumes a download in pieces can check the
// file it stitched together against it. The test uploads its own file: another spec empties
// the table.

interface FileRow {
  id: number;
  sha256: string;
}

/** A file of its own in the files table (an upload records its SHA-256), removed afterwards. */
async function upload(request: APIRequestContext, buffer: Buffer, base = ''): Promise<FileRow> {
  const response = await request.post(`${base}/api/files`, { multipart: { file: { name: 'resumed.bin', mimeType: 'application/octet-stream', buffer } } });
  expect(response.status(), await response.text()).toBe(201);
  return (await response.json()) as FileRow;
}

/** 1.5 MiB of bytes that do not compress, under the demo's upload limit in this suite. */
function incompressible(): Buffer {
  const content = Buffer.alloc(1536 * 1024);
  for (let offset = 0; offset < content.length; offset += 32) createHash('sha256').update(String(offset)).digest().copy(content, offset);
  return content;
}

test('a download resumed in three pieces matches the Repr-Digest of every piece', async ({ request }) => {
  const content = incompressible();
  const row = await upload(request, content);
  expect(row.sha256).toBe(createHash('sha256').update(content).digest('hex'));
  const expected = `sha-256=:${Buffer.from(row.sha256, 'hex').toString('base64')}:`;
  const url = `/api/files/${row.id}`;

  const head = await request.fetch(url, { method: 'HEAD' });
  expect(head.headers()['repr-digest']).toBe(expected);
  const etag = head.headers()['etag']!;
  const size = Number(head.headers()['content-length']);
  expect(size).toBeGreaterThan(3);

  const cuts = [0, Math.floor(size / 3), Math.floor((2 * size) / 3), size];
  const pieces: Buffer[] = [];
  for (let i = 0; i < 3; i++) {
    const range = i === 2 ? `bytes=${cuts[i]}-` : `bytes=${cuts[i]}-${cuts[i + 1]! - 1}`;
    const piece = await request.get(url, { headers: { range, 'if-range': etag, 'accept-encoding': 'identity' } });
    expect(piece.status(), range).toBe(206);
    expect(piece.headers()['repr-digest'], range).toBe(expected);
    pieces.push(await piece.body());
  }
  const stitched = Buffer.concat(pieces);
  expect(stitched.length).toBe(size);
  expect(`sha-256=:${createHash('sha256').update(stitched).digest('base64')}:`).toBe(expected);

  const again = await request.get(url, { headers: { 'if-none-match': etag } });
  expect(again.status()).toBe(304);
  expect(again.headers()['repr-digest']).toBe(expected);

  const whole = await request.get(url, { headers: { 'want-repr-digest': 'sha-512=5, sha-256=1' } });
  expect(whole.headers()['repr-digest']).toBe(expected);
  expect(whole.headers()['content-digest']).toBe(expected);
  const unknown = await request.fetch(url, { method: 'HEAD', headers: { 'want-repr-digest': 'sha-512=5' } });
  expect(unknown.headers()['repr-digest']).toBeUndefined();
  expect((await request.delete(url)).status()).toBe(204);
});

test('in Chromium, a script resumes a download in pieces and checks what it stitched against Repr-Digest', async ({ page, request }) => {
  const content = incompressible();
  const row = await upload(request, content);
  try {
    await page.goto('/');
    // What a web app's resumable downloader does: the validators and digest first, then ranges
    // pinned to that version with If-Range, then SubtleCrypto over the file it put together.
    const result = await page.evaluate(async (url) => {
      const head = await fetch(url, { method: 'HEAD' });
      const size = Number(head.headers.get('content-length'));
      const etag = head.headers.get('etag')!;
      const pieces: Uint8Array[] = [];
      const statuses: number[] = [];
      for (let start = 0; start < size; start += 512 * 1024) {
        const end = Math.min(size, start + 512 * 1024) - 1;
        const piece = await fetch(url, { headers: { range: `bytes=${start}-${end}`, 'if-range': etag } });
        statuses.push(piece.status);
        pieces.push(new Uint8Array(await piece.arrayBuffer()));
      }
      const whole = new Uint8Array(pieces.reduce((sum, piece) => sum + piece.length, 0));
      let at = 0;
      for (const piece of pieces) {
        whole.set(piece, at);
        at += piece.length;
      }
      const hash = new Uint8Array(await crypto.subtle.digest('SHA-256', whole));
      return {
        header: head.headers.get('repr-digest'),
        computed: `sha-256=:${btoa(String.fromCharCode(...hash))}:`,
        statuses,
        length: whole.length,
        size,
      };
    }, `/api/files/${row.id}`);
    expect(result.statuses).toEqual([206, 206, 206]);
    expect(result.length).toBe(result.size);
    expect(result.header).toBe(`sha-256=:${createHash('sha256').update(content).digest('base64')}:`);
    expect(result.computed).toBe(result.header);
  } finally {
    expect((await request.delete(`/api/files/${row.id}`)).status()).toBe(204);
  }
});

test('on S3 behind redirects, pieces fetched from the store match the Repr-Digest the app sends', async ({ request }) => {
  const content = incompressible();
  const row = await upload(request, content, s3DemoBaseURL);
  const url = `${s3DemoBaseURL}/api/files/${row.id}`;
  const expected = `sha-256=:${Buffer.from(row.sha256, 'hex').toString('base64')}:`;
  try {
    // HEAD is the app's own answer (a GET is a 307 to the store).
    const head = await request.fetch(url, { method: 'HEAD' });
    expect(head.headers()['repr-digest']).toBe(expected);
    const etag = head.headers()['etag']!;
    const size = Number(head.headers()['content-length']);
    const cuts = [0, Math.floor(size / 2), size];
    const pieces: Buffer[] = [];
    for (let i = 0; i < 2; i++) {
      const range = `bytes=${cuts[i]}-${cuts[i + 1]! - 1}`;
      const redirect = await request.get(url, { headers: { range }, maxRedirects: 0 });
      expect(redirect.status()).toBe(307);
      const location = redirect.headers()['location']!;
      expect(location.startsWith(`${s3Endpoint}/`)).toBe(true);
      const piece = await request.get(location, { headers: { range } });
      expect(piece.status(), range).toBe(206);
      pieces.push(await piece.body());
    }
    expect(`sha-256=:${createHash('sha256').update(Buffer.concat(pieces)).digest('base64')}:`).toBe(expected);
    // Streamed through the app, the pieces carry the field themselves.
    const streamed = await request.get(`${url}?stream`, { headers: { range: `bytes=${cuts[1]}-`, 'if-range': etag } });
    expect(streamed.status()).toBe(206);
    expect(streamed.headers()['repr-digest']).toBe(expected);
  } finally {
    expect((await request.delete(url)).status()).toBe(204);
  }
});
