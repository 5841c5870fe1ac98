import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FileSystemStorage } from '../storage/file-system-storage';
import { storedNames } from '../storage/storage-contract.test-support';
import { HttpError } from '../errors';
import { uploadRoute } from './upload-route';

let root: string;
let storage: FileSystemStorage;

beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'upload-route-'));
  storage = new FileSystemStorage(root);
});

afterEach(async () => {
  vi.restoreAllMocks();
  await rm(root, { recursive: true, force: true });
});

function upload(content: string, filename = 'report.pdf', field = 'file'): Request {
  const body = new FormData();
  body.set(field, new File([content], filename, { type: 'application/pdf' }));
  return new Request('http://test/uploads', { method: 'POST', body });
}

describe('uploadRoute', () => {
  it('stores the file under a new name, keeping a plain extension, and answers 201 with what it stored', async () => {
    const { POST } = uploadRoute({ storage, maxBytes: 1024 });
    const response = await POST(upload('%PDF-1.7 body', 'My Report.PDF'));
    expect(response.status).toBe(201);
    const summary = await response.json();
    expect(summary).toMatchObject({ clientName: 'My Report.PDF', clientType: 'application/pdf', size: 13 });
    expect(summary.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(summary.name).toMatch(/^uploads\/[0-9a-f-]{36}\.pdf$/);
    expect(await storedNames(storage)).toEqual([summary.name]);
  });

  it('never stores under the client\'s name, nor an extension that is not plain', async () => {
    const { POST } = uploadRoute({ storage, maxBytes: 1024 });
    const summary = await (await POST(upload('x', '../../etc/passwd.sh;rm -rf'))).json();
    expect(summary.name).toMatch(/^uploads\/[0-9a-f-]{36}$/);
  });

  it('answers 415 to a body that is not multipart', async () => {
    const { POST } = uploadRoute({ storage, maxBytes: 1024 });
    const response = await POST(new Request('http://test/uploads', { method: 'POST', body: 'plain', headers: { 'content-type': 'text/plain' } }));
    expect(response.status).toBe(415);
    expect(await response.text()).toBe('Expected a multipart/form-data upload\n');
  });

  it('answers 400 when the file field is missing, and keeps nothing', async () => {
    const { POST } = uploadRoute({ storage, maxBytes: 1024 });
    const response = await POST(upload('x', 'a.txt', 'other'));
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('No file in the "file" field');
    expect(await storedNames(storage)).toEqual([]);
  });

  it('answers 413 past maxBytes, and keeps nothing (no temporary file either)', async () => {
    const { POST } = uploadRoute({ storage, maxBytes: 10 });
    const response = await POST(upload('x'.repeat(11)));
    expect(response.status).toBe(413);
    expect(await storedNames(storage)).toEqual([]);
    expect(await readdir(root, { recursive: true })).not.toContainEqual(expect.stringMatching(/\.part$/));
  });

  it('answers 403 when authorize says no, before reading the body', async () => {
    const { POST } = uploadRoute({ storage, maxBytes: 1024, authorize: () => false });
    const request = upload('x');
    const response = await POST(request);
    expect(response.status).toBe(403);
    expect(request.bodyUsed).toBe(false);
  });

  it('answers with the Response onUpload returns, and uses the given field and name', async () => {
    const { POST } = uploadRoute({
      storage,
      maxBytes: 1024,
      field: 'document',
      name: (client) => `docs/${client}`,
      onUpload: (received) => Response.json({ id: 7, stored: received.stored.name }, { status: 201, headers: { location: '/files/7' } }),
    });
    const response = await POST(upload('abc', 'a.txt', 'document'));
    expect(response.headers.get('location')).toBe('/files/7');
    expect(await response.json()).toEqual({ id: 7, stored: 'docs/a.txt' });
  });

  it('removes the stored file when onUpload refuses it or fails', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const refused = uploadRoute({ storage, maxBytes: 1024, onUpload: () => { throw new HttpError(422, 'Not a report'); } });
    const response = await refused.POST(upload('abc'));
    expect(response.status).toBe(422);
    expect(await response.text()).toBe('Not a report\n');
    const failing = uploadRoute({ storage, maxBytes: 1024, onUpload: async () => { throw new Error('database down'); } });
    expect((await failing.POST(upload('abc'))).status).toBe(500);
    expect(await storedNames(storage)).toEqual([]);
  });

  it('checks its options when the route loads', () => {
    expect(() => uploadRoute({ storage, maxBytes: 0 })).toThrow(/maxBytes/);
    expect(() => uploadRoute({ storage: {} as never, maxBytes: 1 })).toThrow(/Storage interface/);
    expect(() => uploadRoute({ storage, maxBytes: 1, onUpload: 'x' as never })).toThrow(/onUpload must be a function/);
  });
});
