import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bytesStream } from './bytes-stream';
import { openFileRanges, openFileStream, takeFile } from './file-stream';

let dir: string;
let file: string;

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'take-file-test-'));
  file = path.join(dir, 'f.bin');
  writeFileSync(file, '0123456789');
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('takeFile', () => {
  it('hands over the open file and its range once; the stream then leaves the file alone', async () => {
    const stream = await openFileStream(file, { start: 2, end: 5 });
    const taken = takeFile(stream)!;
    expect([taken.start, taken.end]).toEqual([2, 5]);
    expect(takeFile(stream)).toBeUndefined();
    // Cancelling the abandoned stream does not close the file now owned by the taker.
    await stream.cancel();
    const buffer = Buffer.alloc(4);
    await taken.handle.read(buffer, 0, 4, 2);
    expect(buffer.toString()).toBe('2345');
    await taken.close();
  });

  it('gives nothing once the stream is being read', async () => {
    const stream = await openFileStream(file);
    const reader = stream.getReader();
    expect(takeFile(stream)).toBeUndefined();
    expect((await reader.read()).value?.byteLength).toBe(10);
    await reader.cancel();
  });

  it('gives nothing for the parts of a multipart answer, which share one file', async () => {
    const streams = await openFileRanges(file, [
      { start: 0, end: 1 },
      { start: 4, end: 5 },
    ]);
    expect(streams.map(takeFile)).toEqual([undefined, undefined]);
    await Promise.all(streams.map((stream) => stream.cancel()));
  });

  it('gives nothing for a stream of bytes in memory', () => {
    expect(takeFile(bytesStream(Buffer.from('x')))).toBeUndefined();
  });

  it('makes a read of the stream after the take fail rather than race the new owner', async () => {
    const stream = await openFileStream(file);
    const taken = takeFile(stream)!;
    await expect(stream.getReader().read()).rejects.toThrow(/taken/);
    await taken.close();
  });
});
