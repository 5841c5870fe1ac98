#!/usr/bin/env node
/**
 * Writes the demo's sample video and audio with ffmpeg from synthetic sources (a test pattern and
 * a sine tone), so no media file is downloaded or kept in the repository. `npm start` runs it on
 * the media folder when ffmpeg is there; the media e2e spec plays and seeks the video.
 *
 *   node scripts/sample-media.mjs DIR    writes the files missing under DIR
 *                                        (SAMPLE_MEDIA_CACHE=DIR2 keeps encoded copies there)
 *
 * The formats are the ones every Chromium plays, Debian's included (no proprietary codecs):
 * WebM with VP8 video and Opus audio, and Opus in Ogg. The video is 30 s of 320x240 at a fixed
 * 800 kbit/s, about 3 MB: well past what a player reads before it starts, so a seek near its end
 * has to ask for a new range. ffmpeg's realtime VP8 encoder writes it in 1.5 s of CPU on a quiet
 * 2-core machine (up to 7 s when the cores are shared); the audio takes 0.2 s.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findFfmpeg } from './ensure-ffmpeg.mjs';

/** Seconds of video: long enough that its end is far past a player's first read. */
export const VIDEO_SECONDS = 30;

/** Each sample: its name under the media folder, and ffmpeg's arguments before the output file. */
export const SAMPLE_MEDIA = [
  {
    name: 'video/test-pattern.webm',
    args: [
      ...['-f', 'lavfi', '-i', `testsrc2=duration=${VIDEO_SECONDS}:size=320x240:rate=25`],
      ...['-f', 'lavfi', '-i', `sine=frequency=440:duration=${VIDEO_SECONDS}`],
      // A constant rate keeps the size (and so the ranges a seek needs) the same on every machine.
      ...['-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '800k', '-minrate', '800k', '-maxrate', '800k'],
      ...['-c:a', 'libopus', '-b:a', '48k', '-shortest', '-f', 'webm'],
    ],
  },
  {
    name: 'audio/tone.ogg',
    args: [...['-f', 'lavfi', '-i', 'sine=frequency=330:duration=10'], ...['-c:a', 'libopus', '-b:a', '48k', '-f', 'ogg']],
  },
];

/**
 * @param {string} file
 * @param {string[]} args
 * @returns {Promise<void>}
 */
function run(file, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      // The last lines say why it failed; the rest is progress.
      stderr = (stderr + chunk).slice(-2000);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${path.basename(file)} exited with ${signal ?? code}: ${stderr.trim().split('\n').slice(-3).join(' / ')}`));
    });
  });
}

/** @param {string} file */
function exists(file) {
  return stat(file).then(
    () => true,
    () => false,
  );
}

/**
 * Puts a file at `target` in one step: `write(temporary)` writes it beside the target under a
 * dotfile name (the demo lists no dotfiles), which is then renamed into place, so a server never
 * serves half of one; a failed write leaves nothing.
 *
 * @param {string} target
 * @param {(temporary: string) => Promise<void>} write
 */
async function writeAtomically(target, write) {
  await mkdir(path.dirname(target), { recursive: true });
  const temporary = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.tmp`);
  try {
    await write(temporary);
    await rename(temporary, target);
  } finally {
    await rm(temporary, { force: true });
  }
}

/**
 * Writes each sample missing under `root` (an existing file is kept, whatever it holds).
 *
 * @param {string} root
 * @param {{ ffmpeg?: string | null, cacheDir?: string }} [options] `ffmpeg`: the binary (default:
 *   found as scripts/ensure-ffmpeg.mjs finds it; `null` writes nothing). `cacheDir`: where encoded
 *   samples are kept, by their recipe, and copied from, so each is encoded once per machine
 *   rather than once per media folder (the e2e suite starts two demo servers)
 * @returns {Promise<{ written: string[], missing?: string }>} the names written; `missing` says
 *   why nothing could be
 */
export async function writeSampleMedia(root, { ffmpeg = findFfmpeg(), cacheDir } = {}) {
  /** @type {string[]} */
  const written = [];
  const wanted = [];
  for (const sample of SAMPLE_MEDIA) if (!(await exists(path.join(root, sample.name)))) wanted.push(sample);
  if (wanted.length === 0) return { written };
  for (const sample of wanted) {
    const target = path.join(root, sample.name);
    // +bitexact: no encoder version in the file (the audio comes out the same byte for byte).
    const args = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', ...sample.args, '-fflags', '+bitexact'];
    const cached = cacheDir && path.join(cacheDir, createHash('sha256').update(JSON.stringify(args)).digest('hex').slice(0, 16), path.basename(sample.name));
    if (!cached || !(await exists(cached))) {
      if (!ffmpeg) return { written, missing: 'ffmpeg not found: no sample video or audio (`apt-get install ffmpeg`, or FFMPEG_PATH)' };
      await writeAtomically(cached ?? target, (temporary) => run(ffmpeg, [...args, temporary]));
    }
    if (cached) await writeAtomically(target, (temporary) => copyFile(cached, temporary));
    written.push(sample.name);
  }
  return { written };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = process.argv[2];
  if (!root) {
    console.error('usage: node scripts/sample-media.mjs DIR');
    process.exit(2);
  }
  const started = Date.now();
  const { written, missing } = await writeSampleMedia(root, { cacheDir: process.env.SAMPLE_MEDIA_CACHE || undefined });
  if (missing) {
    console.error(missing);
    process.exit(1);
  }
  console.log(written.length ? `Wrote ${written.join(', ')} in ${Date.now() - started} ms` : 'The sample media are there already');
}
