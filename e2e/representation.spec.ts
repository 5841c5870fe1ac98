import { readFile } from 'node:fs/promises';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { expect, test } from '@playwright/test';
import { e2ePort, mediaRoot, sha256 } from './helpers';

// What Next 16 does to a route's Response on its way to the wire, against the production build
// served by the kit's server (scripts/start.ts): the headers it drops must come back, and a body
// the app reads must be whole.

interface Raw {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** One request with Node's http client: no decompression, headers as sent. */
function raw(pathname: string, method = 'GET', headers: Record<string, string> = {}): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: e2ePort, path: pathname, method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

test.describe('a file stored with a Content-Encoding', () => {
  test('is sent with its Content-Encoding and exact length, on GET, on a range and on HEAD', async () => {
    const get = await raw('/api/examples/gzipped.txt', 'GET', { 'accept-encoding': 'gzip' });
    expect(get.status).toBe(200);
    expect(get.headers['content-encoding']).toBe('gzip');
    expect(get.headers['content-length']).toBe(String(get.body.length));
    expect(gunzipSync(get.body).toString()).toBe('Stored gzipped, sent as stored.\n'.repeat(64));
    expect(Object.keys(get.headers).filter((name) => name.startsWith('x-downloadview'))).toEqual([]);

    const head = await raw('/api/examples/gzipped.txt', 'HEAD');
    expect(head.headers['content-encoding']).toBe('gzip');
    expect(head.headers['content-length']).toBe(String(get.body.length));

    const range = await raw('/api/examples/gzipped.txt', 'GET', { range: 'bytes=0-9' });
    expect(range.status).toBe(206);
    expect(range.headers['content-encoding']).toBe('gzip');
    expect(range.body.equals(get.body.subarray(0, 10))).toBe(true);
  });
});

test.describe('a factory Response the app reads', () => {
  for (const name of ['hello.txt', 'sample.bin']) {
    test(`has every byte of ${name}, and the file still downloads whole`, async () => {
      const onDisk = await readFile(path.join(mediaRoot, name));
      const digest = await raw(`/api/examples/digest/${encodeURIComponent(name)}`);
      expect(digest.status).toBe(200);
      expect(JSON.parse(digest.body.toString())).toEqual({ bytes: onDisk.length, contentLength: onDisk.length, sha256: sha256(onDisk) });

      const direct = await raw(`/api/path/${encodeURIComponent(name)}`);
      expect(direct.headers['content-length']).toBe(String(onDisk.length));
      expect(direct.body.equals(onDisk)).toBe(true);
    });
  }
});
