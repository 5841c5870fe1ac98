import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureFfmpeg } from './ensure-ffmpeg.mjs';
import { SAMPLE_MEDIA, writeSampleMedia } from './sample-media.mjs';

let root: string;
let ffmpeg: string;
/** Shared by the tests, so the video is encoded once in this file. */
let cacheDir: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'sample-media-'));
  cacheDir = path.join(root, 'cache');
  // Installed with apt-get when run as root (CI), as the e2e stage does; otherwise it must be there.
  const found: { ok: boolean; path?: string; message?: string } = ensureFfmpeg({ log: () => {} });
  if (!found.path) throw new Error(found.message);
  ffmpeg = found.path;
}, 180_000);
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** The 4-byte signature a file starts with, in hex. */
async function magic(file: string): Promise<string> {
  return (await readFile(file)).subarray(0, 4).toString('hex');
}

describe('writeSampleMedia(root)', () => {
  it('writes a WebM video of about 3 MB and an Ogg audio file, from synthetic sources', async () => {
    const dir = path.join(root, 'fresh');
    const { written, missing } = await writeSampleMedia(dir, { ffmpeg, cacheDir });
    expect(missing).toBeUndefined();
    expect(written).toEqual(['video/test-pattern.webm', 'audio/tone.ogg']);
    const video = await readFile(path.join(dir, 'video/test-pattern.webm'));
    // EBML header, then the WebM doctype; VP8 and Opus tracks.
    expect(video.subarray(0, 4).toString('hex')).toBe('1a45dfa3');
    expect(video.subarray(0, 64).includes(Buffer.from('webm'))).toBe(true);
    expect(video.includes(Buffer.from('V_VP8'))).toBe(true);
    expect(video.includes(Buffer.from('A_OPUS'))).toBe(true);
    // Past what a player reads before it starts (a seek near the end needs a range of its own).
    expect(video.length).toBeGreaterThan(2_000_000);
    expect(video.length).toBeLessThan(5_000_000);
    expect(await magic(path.join(dir, 'audio/tone.ogg'))).toBe(Buffer.from('OggS').toString('hex'));
    expect((await readFile(path.join(dir, 'audio/tone.ogg'))).includes(Buffer.from('OpusHead'))).toBe(true);
    // Nothing left beside them.
    expect(await readdir(path.join(dir, 'video'))).toEqual(['test-pattern.webm']);
  }, 120_000);

  it('keeps the files that are there and writes only the missing ones', async () => {
    const dir = path.join(root, 'partial');
    await mkdir(path.join(dir, 'video'), { recursive: true });
    await writeFile(path.join(dir, 'video/test-pattern.webm'), 'mine');
    const { written } = await writeSampleMedia(dir, { ffmpeg });
    expect(written).toEqual(['audio/tone.ogg']);
    expect(await readFile(path.join(dir, 'video/test-pattern.webm'), 'utf8')).toBe('mine');
    expect(await writeSampleMedia(dir, { ffmpeg })).toEqual({ written: [] });
  }, 60_000);

  it('with a cache folder, encodes each sample once and copies it into the next folder', async () => {
    const first = path.join(root, 'fresh');
    // No ffmpeg now: the second folder can only be filled from what the first test encoded.
    const second = path.join(root, 'cached');
    expect(await writeSampleMedia(second, { ffmpeg: null, cacheDir })).toEqual({ written: SAMPLE_MEDIA.map((sample) => sample.name) });
    for (const sample of SAMPLE_MEDIA) {
      expect((await readFile(path.join(second, sample.name))).equals(await readFile(path.join(first, sample.name)))).toBe(true);
    }
    expect(await readdir(path.join(second, 'audio'))).toEqual(['tone.ogg']);
  }, 120_000);

  it('without ffmpeg writes nothing and says how to get it', async () => {
    const dir = path.join(root, 'none');
    const { written, missing } = await writeSampleMedia(dir, { ffmpeg: null });
    expect(written).toEqual([]);
    expect(missing).toMatch(/ffmpeg not found.*apt-get install ffmpeg/);
    await expect(readdir(dir)).rejects.toThrow(/ENOENT/);
  });

  it('when ffmpeg fails, throws its last words and leaves no file behind, whole or half', async () => {
    const dir = path.join(root, 'failing');
    const fake = path.join(root, 'fake-ffmpeg');
    // Writes half a file where the output goes (the last argument), then fails.
    await writeFile(fake, '#!/bin/sh\nfor last; do :; done\nprintf half > "$last"\necho "Unknown encoder libvpx" >&2\nexit 1\n');
    await chmod(fake, 0o755);
    await expect(writeSampleMedia(dir, { ffmpeg: fake })).rejects.toThrow(/exited with 1: Unknown encoder libvpx/);
    expect(await readdir(path.join(dir, 'video'))).toEqual([]);
  });

  it('names only files the demo serves inline as media', () => {
    for (const sample of SAMPLE_MEDIA) expect(sample.name).toMatch(/^(video\/[\w-]+\.webm|audio\/[\w-]+\.ogg)$/);
  });
});
