import { createHash } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { sql } from 'drizzle-orm';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import { lookup } from 'mime-types';
import { dialectOf, tablesOf, type DemoDatabase } from './index';
import type { NewFileRow } from './schema';
import { files as pgFiles } from './schema-pg';

/** Sample files that show off names a download has to get right. */
export const SAMPLE_FILES: ReadonlyArray<{ name: string; content: () => Uint8Array | string }> = [
  { name: 'hello.txt', content: () => 'Hello from the media folder!\n' },
  { name: 'report 2026.csv', content: () => 'month,downloads\n2026-01,1200\n2026-02,1350\n2026-03,1610\n' },
  { name: 'résumé été.txt', content: () => 'Un fichier au nom accentué, avec une espace.\n' },
  { name: '中文报告.txt', content: () => '这是一个中文文件名的示例文件。\n' },
  { name: 'docs/guide.md', content: () => '# Guide\n\nFiles in sub-folders are served too.\n' },
  { name: 'sample.bin', content: () => pseudoRandomBytes(3 * 1024 * 1024, 'sample.bin') },
  // Text that compresses well: `npm start` writes its .br and .gz beside it (scripts/precompress.mjs).
  { name: 'logs/access.log', content: () => accessLog(2000) },
];

/** A deterministic web server log of `lines` lines. */
function accessLog(lines: number): string {
  const paths = ['/api/path/hello.txt', '/api/files/1', '/api/storage/docs/guide.md', '/api/exports/numbers.txt', '/api/path/sample.bin'];
  const out: string[] = [];
  for (let i = 0; i < lines; i++) {
    const time = new Date(Date.UTC(2026, 0, 1) + i * 7_000).toISOString();
    const status = i % 17 === 0 ? 304 : i % 11 === 0 ? 206 : 200;
    out.push(`127.0.0.1 - - [${time}] "GET ${paths[i % paths.length]} HTTP/1.1" ${status} ${(i * 7919) % 65536}\n`);
  }
  return out.join('');
}

/** Deterministic bytes, so a test can recompute what it expects. */
export function pseudoRandomBytes(length: number, seed: string): Uint8Array {
  const out = new Uint8Array(length);
  let block = createHash('sha256').update(seed).digest();
  for (let offset = 0; offset < length; offset += block.length) {
    out.set(block.subarray(0, Math.min(block.length, length - offset)), offset);
    block = createHash('sha256').update(block).digest();
  }
  return out;
}

/**
 * Creates the media folder and writes each sample file that is missing. An existing file is
 * never overwritten (the `wx` flag makes the check and the create one step).
 */
export async function seedMedia(root: string): Promise<string[]> {
  const created: string[] = [];
  await mkdir(root, { recursive: true });
  for (const sample of SAMPLE_FILES) {
    const target = path.join(root, sample.name);
    await mkdir(path.dirname(target), { recursive: true });
    try {
      await writeFile(target, sample.content(), { flag: 'wx' });
      created.push(sample.name);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  return created;
}

/**
 * On an empty `files` table, records the sample files that are in the media folder, so the
 * object downloads have rows to serve. A table that has rows is left alone.
 */
export async function seedFileRows(db: DemoDatabase, root: string): Promise<number> {
  const { files } = tablesOf(db);
  const [existing] = await db.select({ id: files.id }).from(files).limit(1);
  if (existing) return 0;
  const rows: NewFileRow[] = [];
  for (const sample of SAMPLE_FILES) {
    let bytes: Buffer;
    let modified: Date;
    try {
      const file = path.join(root, sample.name);
      bytes = await readFile(file);
      modified = (await stat(file)).mtime;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    rows.push({
      name: path.posix.basename(sample.name),
      storagePath: sample.name,
      size: bytes.length,
      contentType: lookup(sample.name) || 'application/octet-stream',
      sha256: createHash('sha256').update(bytes).digest('hex'),
      crc32: crc32(bytes),
      createdAt: modified,
      updatedAt: modified,
    });
  }
  if (rows.length === 0) return 0;
  // "Only an empty table" is checked again where the insert is, in one transaction that other
  // starts wait for: instances starting together would otherwise each see the table empty. All
  // rows or none: a seed cut short would leave a table that is never seeded again.
  if (dialectOf(db) === 'sqlite') {
    // better-sqlite3 runs it synchronously; IMMEDIATE takes the write lock other processes wait on.
    return db.transaction(
      (tx) => {
        if (tx.select({ id: files.id }).from(files).limit(1).get()) return 0;
        tx.insert(files).values(rows).run();
        return rows.length;
      },
      { behavior: 'immediate' },
    );
  }
  return (db as unknown as NodePgDatabase).transaction(async (tx) => {
    // Blocks another seed's same lock (and any write) until this transaction ends; reads go on.
    await tx.execute(sql`LOCK TABLE files IN SHARE ROW EXCLUSIVE MODE`);
    const [again] = await tx.select({ id: pgFiles.id }).from(pgFiles).limit(1);
    if (again) return 0;
    await tx.insert(pgFiles).values(rows);
    return rows.length;
  });
}
