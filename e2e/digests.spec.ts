import { createHash } from 'node:crypto';
import { expect, test, type APIRequestContext } from '@playwright/test';

// Repr-Digest (RFC 9530) through the demo's server: the files table keeps each file's SHA-256,
// so /api/files/{id} sends it, and a client that resumes a download in pieces can check the
// file it stitched together against it.

interface FileRow {
  id: number;
  name: string;
  sha256: string;
}

async function rowNamed(request: APIRequestContext, name: string): Promise<FileRow> {
  const response = await request.get('/api/files');
  expect(response.status()).toBe(200);
  const row = ((await response.json()) as FileRow[]).find((candidate) => candidate.name === name);
  expect(row, name).toBeDefined();
  return row!;
}

test('a download resumed in three pieces matches the Repr-Digest of every piece', async ({ request }) => {
  const row = await rowNamed(request, 'sample.bin');
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
});
