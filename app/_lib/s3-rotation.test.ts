import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestDatabase } from '@/db/testing/databases';
import { readZip } from '@/e2e/helpers';
import type { FileRow } from '@/db/schema';
import { storageDownload } from '@/lib/factories/storage-download';
import { S3Storage } from '@/lib/s3/s3-storage';
import { TEST_BUCKET, useS3Server } from '@/lib/s3/use-s3-server.test-support';
import { receiveUpload } from '@/lib/upload/receive-upload';
import { zipSource } from 'next-downloadview/zip';
import { fileEntries } from './zip';

// Credentials that rotate, as on ECS: no AWS_ACCESS_KEY_ID, a container credentials endpoint on
// 127.0.0.1 (AWS_CONTAINER_CREDENTIALS_FULL_URI) that hands out new temporary keys at each call,
// and a store (the signature gate) that accepts only the keys handed out last. Uploads, streamed
// and redirected downloads and a ZIP export keep working across the rotations, and the endpoint
// is called once per rotation, not once per request.

const s3 = useS3Server();
/** Each set of keys lives this long; the storage refreshes them at three quarters of it. */
const LIFETIME_MS = 2_400;

let endpoint: Server;
let endpointUrl: string;
const handedOut: { accessKeyId: string; at: number }[] = [];
const authorizations = new Set<string | undefined>();

beforeAll(async () => {
  endpoint = createServer((request, response) => {
    authorizations.add(request.headers.authorization);
    const generation = handedOut.length + 1;
    const keys = { accessKeyId: `ASIAROTATION${generation}`, secretAccessKey: `secret-${generation}`, sessionToken: `token-${generation}` };
    handedOut.push({ accessKeyId: keys.accessKeyId, at: Date.now() });
    // From now on the store takes these keys only.
    s3.setCredentials([keys]);
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ AccessKeyId: keys.accessKeyId, SecretAccessKey: keys.secretAccessKey, Token: keys.sessionToken, Expiration: new Date(Date.now() + LIFETIME_MS).toISOString() }));
  });
  await new Promise<void>((resolve) => endpoint.listen(0, '127.0.0.1', resolve));
  endpointUrl = `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}/v2/credentials/task`;
});

afterAll(async () => {
  s3.setCredentials();
  endpoint.closeAllConnections();
  await new Promise((resolve) => endpoint.close(resolve));
});

const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex');
const ctx = (name: string) => ({ params: { path: name.split('/') } });

function form(content: string, filename: string): Request {
  const body = new FormData();
  body.append('file', new File([content], filename, { type: 'text/plain' }));
  return new Request('http://app/api/files', { method: 'POST', body });
}

describe('S3Storage with credentials from a container endpoint that rotates them', () => {
  it('uploads, downloads, redirects and exports across rotations, calling the endpoint once per rotation', async () => {
    let signedRequests = 0;
    const storage = S3Storage.fromUrl(
      `s3://${TEST_BUCKET}/rotation-${process.pid}`,
      { AWS_CONTAINER_CREDENTIALS_FULL_URI: endpointUrl, AWS_CONTAINER_AUTHORIZATION_TOKEN: 'Bearer task-token', AWS_ENDPOINT_URL_S3: s3.endpoint() },
      {
        fetch: (input, init) => {
          signedRequests++;
          return fetch(input, init);
        },
      },
    );
    expect(handedOut).toEqual([]);
    const streamed = storageDownload({ storage });
    const redirected = storageDownload({ storage, delivery: 'redirect' });
    const rows: FileRow[] = [];
    const started = Date.now();

    for (let round = 1; round <= 3; round++) {
      const content = `round ${round}\n`.repeat(100);
      const upload = await receiveUpload(form(content, `r${round}.txt`), storage, { maxBytes: 1 << 20, name: () => `uploads/r${round}.txt` });
      expect(upload.sha256).toBe(sha256(content));
      const at = new Date();
      rows.push({ id: round, name: `r${round}.txt`, storagePath: upload.stored.name, size: upload.size, contentType: 'text/plain', sha256: upload.sha256, createdAt: at, updatedAt: at, crc32: upload.crc32 });
      for (const row of rows) {
        const response = await streamed.GET(new Request('http://app/x'), ctx(row.storagePath));
        expect(response.status).toBe(200);
        expect(sha256(Buffer.from(await response.arrayBuffer()))).toBe(row.sha256);
        const redirect = await redirected.GET(new Request('http://app/x'), ctx(row.storagePath));
        expect(redirect.status).toBe(307);
        const location = new URL(redirect.headers.get('location')!);
        // Never valid past the keys that signed it.
        expect(Number(location.searchParams.get('X-Amz-Expires'))).toBeLessThanOrEqual(Math.ceil(LIFETIME_MS / 1000));
        expect(location.searchParams.get('X-Amz-Security-Token')).toBe(`token-${handedOut.length}`);
        const followed = await fetch(location);
        expect(followed.status).toBe(200);
        expect(sha256(Buffer.from(await followed.arrayBuffer()))).toBe(row.sha256);
      }
      const archive = await (await zipSource(fileEntries(rows), { storage })).open();
      expect(readZip(Buffer.from(await new Response(archive).arrayBuffer())).map((file) => sha256(file.data))).toEqual(rows.map((row) => row.sha256));
      expect(handedOut).toHaveLength(round);
      // Past the refresh point of these keys: the next request rotates them.
      const next = handedOut[round - 1]!.at + LIFETIME_MS * 0.75 + 50;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - Date.now())));
    }

    // Three sets of keys for a few dozen signed requests: one call per rotation.
    expect(handedOut.map((keys) => keys.accessKeyId)).toEqual(['ASIAROTATION1', 'ASIAROTATION2', 'ASIAROTATION3']);
    expect(signedRequests).toBeGreaterThan(10 * handedOut.length);
    expect(authorizations).toEqual(new Set(['Bearer task-token']));
    expect(Date.now() - started).toBeLessThan(30_000);

    // The store really refuses the keys of before: a storage still holding them fails.
    const stale = new S3Storage({ bucket: TEST_BUCKET, endpoint: s3.endpoint(), credentials: { accessKeyId: 'ASIAROTATION2', secretAccessKey: 'secret-2', sessionToken: 'token-2' } });
    const error = await stale.stat(`rotation-${process.pid}/uploads/r1.txt`).then(
      () => undefined,
      (reason: unknown) => reason as { status?: number },
    );
    expect(error?.status).toBe(502);
  });
});

describe('the demo on FILES_STORAGE=s3://... with no AWS_ACCESS_KEY_ID, under rotating container credentials', () => {
  const VARIABLES = ['FILES_STORAGE', 'FILES_DELIVERY', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_ENDPOINT_URL_S3', 'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'MEDIA_ROOT', 'DATABASE_URL'];
  const saved = Object.fromEntries(VARIABLES.map((name) => [name, process.env[name]]));

  afterAll(() => {
    for (const name of VARIABLES) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  });

  it('uploads, downloads, redirects and exports through its routes across a rotation, with one endpoint call per rotation', async () => {
    const tmp = await mkdtemp(path.join(os.tmpdir(), 'demo-rotation-'));
    const database = await createTestDatabase('sqlite');
    // The environment of an ECS task: the container endpoint, and no keys.
    for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']) delete process.env[name];
    Object.assign(process.env, {
      FILES_STORAGE: `s3://${TEST_BUCKET}/demo-rotation-${process.pid}`,
      FILES_DELIVERY: 'redirect',
      AWS_ENDPOINT_URL_S3: s3.endpoint(),
      AWS_CONTAINER_CREDENTIALS_FULL_URI: endpointUrl,
      MEDIA_ROOT: path.join(tmp, 'media'),
      DATABASE_URL: database.url,
    });
    vi.resetModules();
    try {
      const filesRoute = await import('../api/files/route');
      const fileRoute = await import('../api/files/[id]/route');
      const zipRoute = await import('../api/exports/files.zip/route');
      const { closeDatabase, getDb } = await import('@/db');
      const before = handedOut.length;
      const uploaded: { id: number; sha256: string }[] = [];
      for (let round = 1; round <= 2; round++) {
        const content = `demo round ${round}\n`.repeat(50);
        const created = await filesRoute.POST(form(content, `demo-${round}.txt`));
        expect(created.status, await created.clone().text()).toBe(201);
        uploaded.push({ id: ((await created.json()) as { id: number }).id, sha256: sha256(content) });
        for (const file of uploaded) {
          const context = { params: Promise.resolve({ id: String(file.id) }) };
          const streamed = await fileRoute.GET(new Request(`http://demo/api/files/${file.id}?stream`), context);
          expect(sha256(Buffer.from(await streamed.arrayBuffer()))).toBe(file.sha256);
          const redirect = await fileRoute.GET(new Request(`http://demo/api/files/${file.id}`), context);
          expect(redirect.status).toBe(307);
          const followed = await fetch(redirect.headers.get('location')!);
          expect(sha256(Buffer.from(await followed.arrayBuffer()))).toBe(file.sha256);
        }
        const zip = await zipRoute.GET(new Request('http://demo/api/exports/files.zip'), { params: Promise.resolve({}) });
        expect(zip.status).toBe(200);
        expect(readZip(Buffer.from(await zip.arrayBuffer())).map((file) => sha256(file.data))).toEqual(uploaded.map((file) => file.sha256));
        expect(handedOut.length - before).toBe(round);
        const next = handedOut[handedOut.length - 1]!.at + LIFETIME_MS * 0.75 + 50;
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - Date.now())));
      }
      await closeDatabase(getDb());
    } finally {
      await database.dispose();
      await rm(tmp, { recursive: true, force: true });
    }
  });
});
