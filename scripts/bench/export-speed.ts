/**
 * The generated exports measured in process, without a server or a load generator: how fast the
 * demo's files.zip and numbers.txt are produced and read through the kit's zipDownload and virtualDownload, as a
 * Web stream, the way Next reads a route's body. For before/after comparisons of the package's lib/zip and
 * numbers.ts; the bench's `export` and `zip` workloads measure the same over HTTP.
 *
 *   npx tsx scripts/bench/export-speed.ts [--zip-mb 256] [--numbers-mb 400] [--rounds 3]
 */
import { mkdirSync, rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import os from 'node:os';
import path from 'node:path';
import { virtualDownload } from 'next-downloadview';
import { FileSystemStorage } from 'next-downloadview/storage';
import { numbersFile } from '@/app/_lib/numbers';
import { zipDownload } from 'next-downloadview/zip';
import { fileEntries } from '@/app/_lib/zip';
import type { FileRow } from '@/db/schema';
import { cachedFile, placeFile, warm } from './files';
import { MB, MiB } from './config';
import { median } from './report';

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  const value = at === -1 ? NaN : Number(process.argv[at + 1]);
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

interface Timing {
  firstByteMs: number;
  mbPerSecond: number;
  bytes: number;
}

async function drain(response: Response): Promise<Timing> {
  const start = performance.now();
  let first = NaN;
  let bytes = 0;
  const reader = response.body!.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (bytes === 0) first = performance.now() - start;
    bytes += value.length;
  }
  const seconds = (performance.now() - start) / 1000;
  return { firstByteMs: first, mbPerSecond: bytes / MB / seconds, bytes };
}

async function main(): Promise<void> {
  const rounds = option('rounds', 3);
  const zipBytes = option('zip-mb', 256) * MB;
  const numbersBytes = option('numbers-mb', 400) * MB;
  const root = path.resolve(import.meta.dirname, '..', '..');
  const dir = path.join(root, 'bench-results', `export-speed-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  try {
    // 64 MiB files, linked into a storage folder as rows of the files table.
    const cached = await cachedFile(path.join(root, 'bench-results', 'files'), 64 * MiB);
    await warm(cached);
    const storage = new FileSystemStorage(dir);
    const rows: FileRow[] = [];
    for (let i = 0; rows.length * 64 * MiB < zipBytes; i++) {
      placeFile(cached, path.join(dir, `f${i}.bin`));
      const at = new Date(Date.UTC(2026, 0, 1));
      rows.push({ id: i + 1, name: `file ${i}.bin`, storagePath: `f${i}.bin`, size: 64 * MiB, contentType: 'application/octet-stream', sha256: '', createdAt: at, updatedAt: at, crc32: null });
    }
    const zip = zipDownload({ filename: 'files.zip', storage, entries: () => fileEntries(rows) });
    const numbers = virtualDownload({ file: () => numbersFile(String(countFor(numbersBytes))) });
    const context = { params: Promise.resolve({}) };
    for (const [label, handler] of [['files.zip', zip.GET], ['numbers.txt', numbers.GET]] as const) {
      const timings: Timing[] = [];
      for (let round = 0; round < rounds; round++) timings.push(await drain(await handler(new Request(`http://bench/${label}`), context)));
      console.log(
        `${label}: ${(timings[0]!.bytes / MB).toFixed(0)} MB, ${median(timings.map((t) => t.mbPerSecond)).toFixed(0)} MB/s, ` +
          `first byte ${median(timings.map((t) => t.firstByteMs)).toFixed(2)} ms (medians of ${rounds}; ${os.cpus().length} CPUs, load ${os.loadavg()[0]!.toFixed(2)})`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The smallest ?count= whose numbers.txt is at least `bytes` long. */
function countFor(bytes: number): number {
  let size = 0;
  let count = 0;
  for (let digits = 1, low = 1; size < bytes; digits++, low *= 10) {
    const perLine = digits + 1;
    const lines = Math.min(low * 9, Math.ceil((bytes - size) / perLine));
    size += lines * perLine;
    count += lines;
  }
  return count;
}

await main();
