#!/usr/bin/env node
/**
 * Writes `name.br` (Brotli, quality 11) and `name.gz` (gzip, level 9) beside text files, for
 * routes with `precompressed: true`. A sibling is (re)written only when missing or older than its
 * file, through a temporary file renamed into place, so a server never reads half of one, and
 * gets its file's modification time (a route ignores a sibling older than its file).
 *
 *   node scripts/precompress.mjs DIR [FILE ...]   every text file under DIR, or only these (relative to DIR)
 *
 * Text means a name ending in one of TEXT_EXTENSIONS. Files under MIN_SIZE bytes are left alone
 * (their answer fits in a packet or two either way), and a sibling that would not be smaller than
 * its file is not written (the client gains nothing); `keepLarger` writes both anyway.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { constants, createBrotliCompress, createGzip } from 'node:zlib';

/** Smaller files gain next to nothing from compression (nginx's `gzip_min_length` serves the same purpose). */
export const MIN_SIZE = 1024;

export const TEXT_EXTENSIONS = ['.txt', '.csv', '.tsv', '.json', '.md', '.log', '.xml', '.svg', '.html', '.css', '.js', '.ndjson'];

const CODINGS = [
  { suffix: '.br', compressor: () => createBrotliCompress({ params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT } }) },
  { suffix: '.gz', compressor: () => createGzip({ level: 9 }) },
];

/**
 * Whether a file name is one this script compresses.
 * @param {string} name
 */
export function isText(name) {
  const lower = name.toLowerCase();
  return TEXT_EXTENSIONS.some((extension) => lower.endsWith(extension));
}

/**
 * @param {string} root
 * @returns {Promise<string[]>}
 */
async function walk(root, relative = '') {
  /** @type {string[]} */
  const found = [];
  for (const entry of await readdir(path.join(root, relative), { withFileTypes: true })) {
    const name = relative ? `${relative}/${entry.name}` : entry.name;
    // Symlinked folders are not followed (a link to `..` would loop), nor dotfiles.
    if (entry.name.startsWith('.')) continue;
    if (entry.isDirectory()) found.push(...(await walk(root, name)));
    else if (entry.isFile() && isText(entry.name)) found.push(name);
  }
  return found;
}

/**
 * Precompresses `files` (names relative to `root`, default every text file under it). Returns
 * the siblings written, relative to `root`.
 *
 * @param {string} root
 * @param {{ files?: readonly string[], keepLarger?: boolean }} [options]
 * @returns {Promise<string[]>}
 */
export async function precompress(root, { files, keepLarger = false } = {}) {
  const names = files ?? (await walk(root));
  const written = [];
  for (const name of names) {
    if (!isText(name)) continue;
    const file = path.join(root, name);
    let original;
    try {
      original = await stat(file);
    } catch (error) {
      if (error.code === 'ENOENT') continue;
      throw error;
    }
    if (!original.isFile() || (!keepLarger && original.size < MIN_SIZE)) continue;
    for (const { suffix, compressor } of CODINGS) {
      const target = file + suffix;
      const existing = await stat(target).catch(() => undefined);
      // Compared to the millisecond, as a route compares the two dates.
      if (existing && Math.floor(existing.mtimeMs) >= Math.floor(original.mtimeMs)) continue;
      const temporary = `${target}.${process.pid}.tmp`;
      try {
        await pipeline(createReadStream(file), compressor(), createWriteStream(temporary, { flags: 'wx' }));
        const size = (await stat(temporary)).size;
        if (!keepLarger && size >= original.size) {
          await rm(temporary, { force: true });
          continue;
        }
        // The sibling takes its file's date: it is that version, in another coding (and a file
        // dated in the future would otherwise make a fresh sibling look stale).
        // (Half a millisecond in, so that rounding of the seconds cannot put it in the millisecond before.)
        await utimes(temporary, original.atime, (Math.floor(original.mtimeMs) + 0.5) / 1000);
        await rename(temporary, target);
        written.push(name + suffix);
      } catch (error) {
        await rm(temporary, { force: true });
        throw error;
      }
    }
  }
  return written;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [root, ...files] = process.argv.slice(2);
  if (!root) {
    console.error('usage: node scripts/precompress.mjs DIR [FILE ...]');
    process.exit(2);
  }
  const written = await precompress(root, { files: files.length ? files : undefined });
  for (const name of written) console.log(name);
  console.log(`${written.length} precompressed files written under ${root}`);
}
