import { createHash } from 'node:crypto';
import { expect, test, type APIRequestContext } from '@playwright/test';

// Repr-Digest (RFC 9530) through the demo's server: the files table keeps each file's SHA-256,
// so /api/files/{id} sends it, and a client that resumes a download in pieces can check the
// file it stitched together against it. The test uploads its own file: another spec empties
// the table.

interface FileRow {
  id: number;
  sha256: string;
}

/** A file of its own in the files table (an upload records its SHA-256), removed afterwards. */
async function upload(request: APIRequestContext, buffer: Buffer): Promise<FileRow> {
  const response = await request.post('/api/files', { multipart: { file: { name: 'resumed.bin', mimeType: 'application/octet-stream', buffer } } });
  expect(response.status(), await response.text()).toBe(201);
  return (await response.json()) as FileRow;
}

test('a download resumed in three pieces matches the Repr-Digest of every piece', async ({ request }) => {
  // 1.5 MiB of bytes that do not compress, under the demo's upload limit in this suite.
  const content = Buffer.alloc(1536 * 1024);
  for (let offset = 0; offset < content.length; offset += 32) createHash('sha256').update(String(offset)).digest().copy(content, offset);
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
