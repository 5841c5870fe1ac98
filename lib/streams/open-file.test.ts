import { mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileChangedError } from '../errors';
import { fileStream, identityOf, openFile } from './file-stream';
import { statSync } from 'node:fs';

let dir: string;
let file: string;

function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

async function text(stream: ReadableStream<Uint8Array>): Promise<string> {
  return Buffer.from(await new Response(stream).arrayBuffer()).toString();
}

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'open-file-test-'));
  file = path.join(dir, 'f.bin');
  writeFileSync(file, '0123456789');
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe.each([false, true])('openFile (sync: %s)', (sync) => {
  it('gives the open file and the range to send; close is idempotent and releases it', async () => {
    const before = openFds();
    const body = await openFile(file, { start: 2, end: 5, sync });
    expect([body.start, body.end]).toEqual([2, 5]);
    expect(openFds()).toBe(before + 1);
    const buffer = Buffer.alloc(4);
    await body.handle.read(buffer, 0, 4, 2);
    expect(buffer.toString()).toBe('2345');
    await body.close();
    await body.close();
    expect(openFds()).toBe(before);
  });

  it('covers the whole file without a range', async () => {
    const body = await openFile(file, { sync });
    expect([body.start, body.end]).toEqual([0, 9]);
    await body.close();
  });

  it('refuses a file that is not the one the headers were decided from', async () => {
    const identity = identityOf(statSync(file));
    writeFileSync(file, 'another, longer body');
    await expect(openFile(file, { expect: identity, sync })).rejects.toBeInstanceOf(FileChangedError);
  });

  it('does not follow a symlink swapped in for the file', async () => {
    const link = path.join(dir, 'link.bin');
    symlinkSync(file, link);
    await expect(openFile(link, { sync })).rejects.toThrow();
  });

  it('streams as fileStream: exactly the range, then the file is closed', async () => {
    const before = openFds();
    const body = await openFile(file, { start: 3, end: 7, chunkSize: 2, sync });
    expect(await text(fileStream(body))).toBe('34567');
    expect(openFds()).toBe(before);
  });

  it('closes the file when its stream is cancelled unread', async () => {
    const before = openFds();
    await fileStream(await openFile(file, { sync })).cancel();
    expect(openFds()).toBe(before);
  });
});
