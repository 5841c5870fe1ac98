#!/usr/bin/env node
// Makes sure an ffmpeg binary is available to write the demo's sample video and audio
// (scripts/sample-media.mjs), which the media e2e spec plays in Chromium.
//
// Order: $FFMPEG_PATH (if set and executable), then ffmpeg on PATH, /usr/bin/ffmpeg.
// Otherwise, when running as root, installs Debian's `ffmpeg` package with apt-get
// (non-interactively, without recommended packages: about 55 MB to download); when not root,
// prints one line saying how to get one and fails.
//
// Usage: node scripts/ensure-ffmpeg.mjs      (exit 0 = ready, 1 = not)
//        import { ensureFfmpeg, findFfmpeg } from './ensure-ffmpeg.mjs'

import { pathToFileURL } from 'node:url';
import { ensureExecutable, findExecutable } from './debian-package.mjs';

const CANDIDATES = ['/usr/bin/ffmpeg', '/usr/local/bin/ffmpeg'];

/** Returns the path of a usable ffmpeg, or null. */
export function findFfmpeg(env = process.env) {
  return findExecutable('ffmpeg', 'FFMPEG_PATH', CANDIDATES, env);
}

/**
 * Ensures ffmpeg exists. Returns { ok: true, path } or { ok: false, message }.
 * Installs Debian's ffmpeg when running as root and none is found.
 */
export function ensureFfmpeg({ log = (line) => console.log(line) } = {}) {
  return ensureExecutable({ name: 'ffmpeg', envVar: 'FFMPEG_PATH', candidates: CANDIDATES, log });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const result = ensureFfmpeg();
  if (!result.ok) {
    console.error(result.message);
    process.exit(1);
  }
}
