import { crc32 as zlibCrc32 } from 'node:zlib';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HttpError } from '../errors';
import { FileSystemStorage } from '../storage/file-system-storage';
import type { Storage } from '../storage/storage';
import { receiveUpload, type ReceiveUploadOptions } from './receive-upload';
import { rejection } from '../storage/storage-contract.test-support';

// receiveUpload into a FileSystemStorage on a real temporary directory (<tmp>/media), with real
// multipart bodies: FormData for well-formed uploads, hand-built bytes for malformed, truncated
// and chunked ones, and ReadableStream bodies that error midway for a client that disconnects.

const URL_ = 'http://x/api/files';
const BOUNDARY = '----vitest-boundary-7MA4YWxkTrZu0gW';
const MULTIPART = `multipart/form-data; boundary=${BOUNDARY}`;
const KiB = 1024;
const MiB = 1024 * KiB;

let tmp: string;
let root: string;
let storage: FileSystemStorage;
let counter = 0;

beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'receive-upload-'));
  root = path.join(tmp, 'media');
  storage = new FileSystemStorage(root);
});

afterEach(async () => {
  vi.restoreAllMocks();
  await rm(tmp, { recursive: true, force: true });
});

/** Generated storage names, as the demo does; records the client names it was given. */
const clientNames: string[] = [];
function options(overrides: Partial<ReceiveUploadOptions> = {}): ReceiveUploadOptions {
  return {
    maxBytes: MiB,
    name: (clientName) => {
      clientNames.push(clientName);
      return `uploads/${++counter}.bin`;
    },
    ...overrides,
  };
}

function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Every entry under the storage root, dotfiles (the `.part` temporaries) included. */
async function leftovers(): Promise<string[]> {
  try {
    const entries = await readdir(root, { recursive: true, withFileTypes: true });
    return entries.filter((entry) => entry.isFile()).map((entry) => path.relative(root, path.join(entry.parentPath, entry.name)));
  } catch {
    return [];
  }
}

function formRequest(form: FormData, init: RequestInit = {}): Request {
  return new Request(URL_, { method: 'POST', body: form, ...init });
}

function fileForm(content: Uint8Array | string, filename = 'hello.txt', type = 'text/plain', field = 'file'): FormData {
  const form = new FormData();
  form.append(field, new File([typeof content === 'string' ? content : new Uint8Array(content)], filename, { type }));
  return form;
}

/** One part of a hand-built multipart body. */
function part(name: string, content: Uint8Array | string, file?: { filename: string; type?: string }): Buffer {
  const disposition = file ? `form-data; name="${name}"; filename="${file.filename}"` : `form-data; name="${name}"`;
  const head = `--${BOUNDARY}\r\nContent-Disposition: ${disposition}\r\n${file ? `Content-Type: ${file.type ?? 'application/octet-stream'}\r\n` : ''}\r\n`;
  return Buffer.concat([Buffer.from(head), Buffer.from(content), Buffer.from('\r\n')]);
}

const CLOSE = Buffer.from(`--${BOUNDARY}--\r\n`);

function rawRequest(body: Uint8Array | string, headers: Record<string, string> = { 'content-type': MULTIPART }): Request {
  return new Request(URL_, { method: 'POST', body: typeof body === 'string' ? body : new Uint8Array(body), headers });
}

/**
 * A request whose body is streamed (no Content-Length, like a chunked upload): the chunks of
 * `source`, then the stream errors if `fail` is set, like a client that disconnects.
 */
function streamRequest(
  source: () => AsyncGenerator<Uint8Array>,
  headers: Record<string, string> = { 'content-type': MULTIPART },
): { request: Request; stats: { pulled: number; cancelled: boolean } } {
  const stats = { pulled: 0, cancelled: false };
  const iterator = source();
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const next = await iterator.next();
          if (next.done) controller.close();
          else {
            stats.pulled += next.value.length;
            controller.enqueue(next.value);
          }
        } catch (error) {
          controller.error(error);
        }
      },
      async cancel() {
        stats.cancelled = true;
        await iterator.return(undefined);
      },
    },
    { highWaterMark: 0 },
  );
  const init = { method: 'POST', body, headers, duplex: 'half' } as RequestInit;
  return { request: new Request(URL_, init), stats };
}

/**
 * Expects the upload to fail with `status`, and nothing to escape meanwhile as an uncaught
 * exception (an 'error' event nobody listens to): in a server, that is a crash of the process.
 */
async function expectStatus(promise: Promise<unknown>, status: number): Promise<HttpError> {
  const escaped: unknown[] = [];
  const listener = (error: unknown) => escaped.push(error);
  process.on('uncaughtException', listener);
  try {
    const error = await rejection(promise);
    await sleep(20);
    expect(error).toBeInstanceOf(HttpError);
    expect((error as HttpError).status).toBe(status);
    expect(escaped, 'uncaught exceptions while failing').toEqual([]);
    return error as HttpError;
  } finally {
    process.off('uncaughtException', listener);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Fails after `ms` so a hanging call shows up as a failure, not a test timeout. */
function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  return Promise.race([promise, sleep(ms).then(() => Promise.reject(new Error(`still pending after ${ms} ms`)))]);
}

describe('receiveUpload(request, storage, { field, maxBytes, name })', () => {
  describe('a well-formed upload', () => {
    it('stores the bytes under the generated name and reports their size and SHA-256', async () => {
      const content = 'hello, upload\n';
      const upload = await receiveUpload(formRequest(fileForm(content)), storage, options());
      expect(upload.stored.name).toMatch(/^uploads\/\d+\.bin$/);
      expect(upload.size).toBe(Buffer.byteLength(content));
      expect(upload.sha256).toBe(sha256(content));
      expect(upload.clientName).toBe('hello.txt');
      expect(upload.clientType).toBe('text/plain');
      expect(upload.stored.size).toBe(upload.size);
      expect(await readFile(path.join(root, upload.stored.name), 'utf8')).toBe(content);
      expect(await leftovers()).toEqual([upload.stored.name]);
    });

    it('streams a binary file of several MiB byte for byte', async () => {
      const content = randomBytes(5 * MiB + 123);
      const upload = await receiveUpload(formRequest(fileForm(content, 'big.bin', 'application/octet-stream')), storage, options({ maxBytes: 10 * MiB }));
      expect(upload.size).toBe(content.length);
      expect(upload.sha256).toBe(sha256(content));
      expect((await readFile(path.join(root, upload.stored.name))).equals(content)).toBe(true);
    });

    it('reports the CRC-32 of the bytes, computed in the same pass (for a zipDownload that resumes by seeking)', async () => {
      const content = randomBytes(3 * MiB + 7);
      const upload = await receiveUpload(formRequest(fileForm(content, 'crc.bin', 'application/octet-stream')), storage, options({ maxBytes: 10 * MiB }));
      expect(upload.crc32).toBe(zlibCrc32(content));
      expect((await receiveUpload(formRequest(fileForm('', 'empty.txt')), storage, options())).crc32).toBe(0);
    });

    it('accepts an empty file', async () => {
      const upload = await receiveUpload(formRequest(fileForm('', 'empty.txt')), storage, options());
      expect(upload.size).toBe(0);
      expect(upload.sha256).toBe(sha256(''));
      expect(await readFile(path.join(root, upload.stored.name), 'utf8')).toBe('');
    });

    it('accepts a file of exactly maxBytes', async () => {
      const content = randomBytes(1000);
      const upload = await receiveUpload(formRequest(fileForm(content)), storage, options({ maxBytes: 1000 }));
      expect(upload.size).toBe(1000);
      expect(upload.sha256).toBe(sha256(content));
    });

    it.each([
      ['a climb', '../../x.txt', 'x.txt'],
      ['an absolute path', '/etc/passwd', 'passwd'],
      ['a Windows path', 'C:\\Users\\me\\evil.exe', 'evil.exe'],
      ['a bare dot-dot', '..', ''],
    ])('hands the name function only the basename of %s, and never writes to the client path', async (_label, filename, expected) => {
      const name = vi.fn((_client: string) => 'uploads/generated.bin');
      const upload = await receiveUpload(formRequest(fileForm('payload', filename)), storage, options({ name }));
      expect(name).toHaveBeenCalledWith(expected);
      expect(upload.clientName).toBe(expected);
      expect(upload.stored.name).toBe('uploads/generated.bin');
      expect(await leftovers()).toEqual(['uploads/generated.bin']);
      expect(await readdir(tmp)).toEqual(['media']);
    });

    it('reads the file from the field option and ignores other fields and files', async () => {
      const form = new FormData();
      form.append('title', 'a text field');
      form.append('attachment', new File(['the right one'], 'right.txt'));
      const upload = await receiveUpload(formRequest(form), storage, options({ field: 'attachment' }));
      expect(await readFile(path.join(root, upload.stored.name), 'utf8')).toBe('the right one');
      expect(await leftovers()).toEqual([upload.stored.name]);
    });

    it('keeps only the first file when the field is sent twice', async () => {
      const form = new FormData();
      form.append('file', new File(['first'], 'one.txt'));
      form.append('file', new File(['second'], 'two.txt'));
      const upload = await receiveUpload(formRequest(form), storage, options());
      expect(await readFile(path.join(root, upload.stored.name), 'utf8')).toBe('first');
      expect(await leftovers()).toHaveLength(1);
    });

    // A form with two file inputs (say an avatar, then the document) is ordinary: the file of the
    // configured field must be found wherever it is, and never reported as missing.
    it('finds the file of its field after a file in another field', async () => {
      const form = new FormData();
      form.append('avatar', new File(['not this one'], 'avatar.png', { type: 'image/png' }));
      form.append('file', new File(['this one'], 'doc.txt'));
      const upload = await receiveUpload(formRequest(form), storage, options());
      expect(await readFile(path.join(root, upload.stored.name), 'utf8')).toBe('this one');
    });

    it('accepts a streamed (chunked) body without Content-Length', async () => {
      const content = randomBytes(300 * KiB);
      const { request } = streamRequest(async function* () {
        const bytes = Buffer.concat([part('file', content, { filename: 'chunked.bin' }), CLOSE]);
        for (let offset = 0; offset < bytes.length; offset += 7 * KiB) yield bytes.subarray(offset, offset + 7 * KiB);
      });
      const upload = await receiveUpload(request, storage, options());
      expect(upload.sha256).toBe(sha256(content));
      expect((await readFile(path.join(root, upload.stored.name))).equals(content)).toBe(true);
    });

    it('handles concurrent uploads to the same storage, each with its own bytes', async () => {
      const contents = Array.from({ length: 12 }, (_, i) => randomBytes(64 * KiB + i * 1000));
      const uploads = await Promise.all(
        contents.map((content, i) => receiveUpload(formRequest(fileForm(content, `f${i}.bin`)), storage, options({ name: () => `uploads/${crypto.randomUUID()}.bin` }))),
      );
      expect(new Set(uploads.map((upload) => upload.stored.name)).size).toBe(contents.length);
      for (const [i, upload] of uploads.entries()) {
        expect(upload.sha256).toBe(sha256(contents[i]!));
        expect((await readFile(path.join(root, upload.stored.name))).equals(contents[i]!)).toBe(true);
      }
      expect((await leftovers()).filter((name) => name.endsWith('.part'))).toEqual([]);
    });
  });

  describe('415 for a body that is not multipart/form-data', () => {
    it.each([
      ['text/plain', { 'content-type': 'text/plain' }],
      ['application/json', { 'content-type': 'application/json' }],
      ['urlencoded', { 'content-type': 'application/x-www-form-urlencoded' }],
      ['multipart/mixed', { 'content-type': `multipart/mixed; boundary=${BOUNDARY}` }],
      ['no Content-Type', {}],
    ])('answers 415 to %s and stores nothing', async (_label, headers: Record<string, string>) => {
      const body = Buffer.concat([part('file', 'data', { filename: 'a.txt' }), CLOSE]);
      await expectStatus(receiveUpload(rawRequest(body, headers), storage, options()), 415);
      expect(await leftovers()).toEqual([]);
    });
  });

  describe('413 for a file over maxBytes', () => {
    it('refuses a file one byte over the limit and keeps nothing', async () => {
      await expectStatus(receiveUpload(formRequest(fileForm(randomBytes(1001))), storage, options({ maxBytes: 1000 })), 413);
      expect(await leftovers()).toEqual([]);
    });

    it('refuses a much larger file and keeps nothing', async () => {
      await expectStatus(receiveUpload(formRequest(fileForm(randomBytes(3 * MiB))), storage, options({ maxBytes: 100 * KiB })), 413);
      expect(await leftovers()).toEqual([]);
    });

    it('refuses early by Content-Length, without waiting for the body or calling the storage', async () => {
      const save = vi.spyOn(storage, 'save');
      // A body that never ends: only an answer decided from the header can come back.
      const { request } = streamRequest(
        async function* () {
          yield Buffer.from(`--${BOUNDARY}\r\n`);
          await new Promise(() => undefined);
        },
        { 'content-type': MULTIPART, 'content-length': String(50 * MiB) },
      );
      expect(request.headers.get('content-length')).toBe(String(50 * MiB));
      await expectStatus(within(receiveUpload(request, storage, options()), 2000), 413);
      expect(save).not.toHaveBeenCalled();
      expect(await leftovers()).toEqual([]);
    });

    it('refuses a streamed body without Content-Length while it streams, and stops reading it', async () => {
      const total = 64 * MiB;
      const { request, stats } = streamRequest(async function* () {
        yield Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="huge.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`);
        const chunk = Buffer.alloc(64 * KiB, 0x61);
        for (let sent = 0; sent < total; sent += chunk.length) {
          yield chunk;
          // A client sending at a (fast) network pace, not at memory speed.
          if (sent % (256 * KiB) === 0) await sleep(1);
        }
        yield Buffer.from(`\r\n--${BOUNDARY}--\r\n`);
      });
      expect(request.headers.get('content-length')).toBeNull();
      await expectStatus(within(receiveUpload(request, storage, options({ maxBytes: MiB })), 10_000), 413);
      expect(stats.pulled).toBeLessThan(8 * MiB);
      expect(await leftovers()).toEqual([]);
    });
  });

  describe('413 for a request over maxBytes plus framing, whatever its layout', () => {
    const limit = 256 * KiB;
    const filler = Buffer.alloc(64 * KiB, 0x62);
    const fileHead = (field = 'file', name = 'a.bin') =>
      Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="${field}"; filename="${name}"\r\nContent-Type: application/octet-stream\r\n\r\n`);
    const layouts: Array<[string, () => AsyncGenerator<Uint8Array>]> = [
      [
        'a huge epilogue after the closing boundary',
        async function* () {
          yield part('file', 'small', { filename: 'a.bin' });
          yield CLOSE;
          for (let i = 0; i < 1024; i++) yield filler;
        },
      ],
      [
        'a huge field that is not a file',
        async function* () {
          yield part('file', 'small', { filename: 'a.bin' });
          yield Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="note"\r\n\r\n`);
          for (let i = 0; i < 1024; i++) yield filler;
        },
      ],
      [
        'a huge preamble before the first part',
        async function* () {
          for (let i = 0; i < 1024; i++) yield filler;
        },
      ],
      [
        'many files in another field',
        async function* () {
          yield part('file', 'small', { filename: 'a.bin' });
          for (let i = 0; i < 1024; i++) {
            yield fileHead('other', `${i}.bin`);
            yield filler;
            yield Buffer.from('\r\n');
          }
          yield CLOSE;
        },
      ],
      [
        'a second file in the same field',
        async function* () {
          yield part('file', 'small', { filename: 'a.bin' });
          yield fileHead('file', 'b.bin');
          for (let i = 0; i < 1024; i++) yield filler;
        },
      ],
    ];
    for (const [layout, source] of layouts) {
      it(`refuses ${layout} as soon as it passes the limit, stops reading and keeps nothing`, async () => {
        const { request, stats } = streamRequest(source);
        await expectStatus(within(receiveUpload(request, storage, options({ maxBytes: limit })), 10_000), 413);
        // The limit, the 64 KiB framing allowance and a chunk or two in flight; not 64 MiB.
        expect(stats.pulled).toBeLessThan(limit + 256 * KiB);
        expect(await leftovers()).toEqual([]);
      });
    }

    it('refuses a request with more parts than it takes (413), without storing its file', async () => {
      const { request } = streamRequest(async function* () {
        for (let i = 0; i < 1000; i++) yield part(`f${i}`, 'x');
        yield part('file', 'small', { filename: 'a.bin' });
        yield CLOSE;
      });
      await expectStatus(within(receiveUpload(request, storage, options({ maxBytes: limit })), 10_000), 413);
      expect(await leftovers()).toEqual([]);
    });

    it('leaves the unread rest of a refused body alone: cancelling it would reset the connection before the 413 is sent', async () => {
      const { request, stats } = streamRequest(layouts[0]![1]);
      await expectStatus(receiveUpload(request, storage, options({ maxBytes: limit })), 413);
      expect(stats.cancelled).toBe(false);
    });

    it('still accepts a file with a few small fields around it', async () => {
      const body = Buffer.concat([part('title', 'hello'), part('file', 'content', { filename: 'a.txt' }), part('tags', 'x,y'), CLOSE]);
      const upload = await receiveUpload(rawRequest(body), storage, options({ maxBytes: limit }));
      expect(upload.size).toBe(7);
    });
  });

  describe('400 for an upload without a usable file', () => {
    it('answers 400 to a request without a body', async () => {
      await expectStatus(receiveUpload(new Request(URL_, { method: 'POST', headers: { 'content-type': MULTIPART } }), storage, options()), 400);
    });

    it('answers 400 when the form has no file field, naming the field', async () => {
      const form = new FormData();
      form.append('title', 'no file here');
      const error = await expectStatus(receiveUpload(formRequest(form), storage, options()), 400);
      expect(error.message).toContain('file');
      expect(await leftovers()).toEqual([]);
    });

    it('answers 400 when the file is in another field, and stores nothing', async () => {
      await expectStatus(receiveUpload(formRequest(fileForm('data', 'a.txt', 'text/plain', 'document')), storage, options()), 400);
      expect(await leftovers()).toEqual([]);
    });

    it('answers 400 when the field holds text instead of a file', async () => {
      const form = new FormData();
      form.append('file', 'just a string');
      await expectStatus(receiveUpload(formRequest(form), storage, options()), 400);
      expect(await leftovers()).toEqual([]);
    });

    it('answers 400 to multipart/form-data without a boundary', async () => {
      const body = Buffer.concat([part('file', 'data', { filename: 'a.txt' }), CLOSE]);
      await expectStatus(receiveUpload(rawRequest(body, { 'content-type': 'multipart/form-data; charset=utf-8' }), storage, options()), 400);
      expect(await leftovers()).toEqual([]);
    });

    it('answers 400 to a body that is not multipart at all', async () => {
      await expectStatus(receiveUpload(rawRequest('this is not a multipart body at all'), storage, options()), 400);
      expect(await leftovers()).toEqual([]);
    });

    it('answers 400 to a body whose boundary is not the announced one', async () => {
      const body = Buffer.concat([part('file', 'data', { filename: 'a.txt' }), CLOSE]).toString().replaceAll(BOUNDARY, 'other-boundary');
      await expectStatus(receiveUpload(rawRequest(body), storage, options()), 400);
      expect(await leftovers()).toEqual([]);
    });
  });

  describe('a body cut off before its end', () => {
    it('answers 400 and keeps nothing when the body ends inside the file', async () => {
      const whole = part('file', randomBytes(200 * KiB), { filename: 'cut.bin' });
      await expectStatus(receiveUpload(rawRequest(whole.subarray(0, 100 * KiB)), storage, options()), 400);
      expect(await leftovers()).toEqual([]);
    });

    it('answers 400 and keeps nothing when the client disconnects in the middle of the file', async () => {
      const save = vi.spyOn(storage, 'save');
      const { request } = streamRequest(async function* () {
        yield Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="cut.bin"\r\n\r\n`);
        for (let i = 0; i < 8; i++) yield randomBytes(32 * KiB);
        // Give the storage time to create its temporary file before the connection drops.
        await sleep(50);
        throw new Error('socket hang up');
      });
      await expectStatus(within(receiveUpload(request, storage, options()), 5000), 400);
      expect(save).toHaveBeenCalledTimes(1);
      expect(await leftovers()).toEqual([]);
    });

    it('answers 400 when the client disconnects before the file starts', async () => {
      const { request } = streamRequest(async function* () {
        yield part('title', 'a field first');
        throw new Error('socket hang up');
      });
      await expectStatus(within(receiveUpload(request, storage, options()), 5000), 400);
      expect(await leftovers()).toEqual([]);
    });

    // The file part is complete, but the body is not: the upload as a whole failed (400), so the
    // file must not stay in the storage with nobody knowing its name.
    it('keeps nothing when the body ends after the file part but before the closing boundary', async () => {
      const body = Buffer.concat([part('file', 'complete file', { filename: 'a.txt' }), Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="note"\r\n\r\nhal`)]);
      await expectStatus(receiveUpload(rawRequest(body), storage, options()), 400);
      expect(await leftovers()).toEqual([]);
    });

    it('keeps nothing, every time, when the body ends after the file part', async () => {
      // Repeated: whether the save has opened its temporary file when the parse fails is a race.
      const body = Buffer.concat([part('file', 'complete file', { filename: 'a.txt' }), Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="note"\r\n\r\nhal`)]);
      for (let i = 0; i < 50; i++) await expectStatus(receiveUpload(rawRequest(body), storage, options()), 400);
      await sleep(50);
      expect(await leftovers()).toEqual([]);
    });

    it('keeps nothing when the client disconnects after the file part, while later fields are sent', async () => {
      const { request } = streamRequest(async function* () {
        yield part('file', randomBytes(64 * KiB), { filename: 'a.bin' });
        yield Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="note"\r\n\r\nhal`);
        await sleep(100);
        throw new Error('socket hang up');
      });
      await expectStatus(within(receiveUpload(request, storage, options()), 5000), 400);
      expect(await leftovers()).toEqual([]);
    });
  });

  describe('when the storage refuses the file', () => {
    it('passes on the storage error (409 for a name that exists) and leaves the existing file alone', async () => {
      await storage.save('uploads/taken.bin', 'original');
      await expectStatus(receiveUpload(formRequest(fileForm('newcomer')), storage, options({ name: () => 'uploads/taken.bin' })), 409);
      expect(await readFile(path.join(root, 'uploads', 'taken.bin'), 'utf8')).toBe('original');
      expect(await leftovers()).toEqual(['uploads/taken.bin']);
    });

    it('writes nothing outside the storage when the name function returns a climb', async () => {
      await expectStatus(receiveUpload(formRequest(fileForm('x')), storage, options({ name: () => '../escaped.bin' })), 400);
      expect(await readdir(tmp)).not.toContain('escaped.bin');
    });

    it('rejects with the storage error, without hanging, when save fails without reading', async () => {
      const failing: Storage = { ...storage, save: () => Promise.reject(new HttpError(507, 'Disk full')) } as unknown as Storage;
      await expectStatus(within(receiveUpload(formRequest(fileForm(randomBytes(2 * MiB))), failing, options({ maxBytes: 4 * MiB })), 5000), 507);
    });
  });

  it('leaves the root folder usable for the next upload after failures', async () => {
    await expectStatus(receiveUpload(formRequest(fileForm(randomBytes(2000))), storage, options({ maxBytes: 1000 })), 413);
    await writeFile(path.join(tmp, 'marker'), '');
    const upload = await receiveUpload(formRequest(fileForm('ok')), storage, options());
    expect(await leftovers()).toEqual([upload.stored.name]);
  });
});
