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

import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { installDebianPackage, isExecutable } from './debian-package.mjs';

const CANDIDATES = ['/usr/bin/ffmpeg', '/usr/local/bin/ffmpeg'];

/** Returns the path of a usable ffmpeg, or null. */
export function findFfmpeg(env = process.env) {
  if (env.FFMPEG_PATH && isExecutable(env.FFMPEG_PATH)) return env.FFMPEG_PATH;
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir && isExecutable(path.join(dir, 'ffmpeg'))) return path.join(dir, 'ffmpeg');
  }
  return CANDIDATES.find(isExecutable) ?? null;
}

/**
 * Ensures ffmpeg exists. Returns { ok: true, path } or { ok: false, message }.
 * Installs Debian's ffmpeg when running as root and none is found.
 */
export function ensureFfmpeg({ log = (line) => console.log(line) } = {}) {
  const found = findFfmpeg();
  if (found) {
    log(`ffmpeg: using ${found}`);
    return { ok: true, path: found };
  }
  if (process.env.FFMPEG_PATH) log(`ffmpeg: FFMPEG_PATH=${process.env.FFMPEG_PATH} is not an executable file`);

  const result = installDebianPackage({
    pkg: 'ffmpeg',
    find: () => findFfmpeg(),
    log,
    notRoot: 'ffmpeg not found: install it with `sudo apt-get install ffmpeg` or set FFMPEG_PATH to an ffmpeg binary.',
    failed: 'ffmpeg: `apt-get install ffmpeg` failed; install it by hand or set FFMPEG_PATH.',
  });
  return result.ok ? { ok: true, path: result.found } : result;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const result = ensureFfmpeg();
  if (!result.ok) {
    console.error(result.message);
    process.exit(1);
  }
}
