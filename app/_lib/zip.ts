import { and, eq, isNull } from 'drizzle-orm';
import type { ZipEntry } from 'next-downloadview/zip';
import { getDb, tablesOf, type DemoDatabase } from '@/db';
import type { FileRow } from '@/db/schema';

/**
 * A row of the files table as an entry of the export: its name (made portable and unique by
 * zipDownload), its bytes in the files storage, its size and time, its SHA-256 as the version in
 * the archive's ETag, and its CRC-32 when the row has one (then a resumed download of the export
 * reads only what it still needs).
 *
 * Rows stored before the crc32 column existed (and direct uploads, whose bytes the server never
 * sees) have none: theirs is computed once, the first time an export reads the file whole, and
 * stored with the row (`rememberCrc32`). Until then a resume of the export is still right, only
 * slower: it reads again the files whose CRC-32 it needs. The archive's bytes and ETag are the
 * same either way, so a download begun before the CRC-32s were known resumes after.
 */
export function fileEntry(row: FileRow, db?: DemoDatabase): ZipEntry {
  return {
    name: row.name,
    path: row.storagePath,
    size: row.size,
    lastModified: row.updatedAt,
    etag: row.sha256,
    crc32: row.crc32 ?? undefined,
    label: `row ${row.id} ${JSON.stringify(row.name)} (${row.storagePath})`,
    onCrc32: row.crc32 === null ? (crc32) => void rememberCrc32(row, crc32, db) : undefined,
  };
}

/** The export's entries, for rows as a query yields them. */
export async function* fileEntries(rows: AsyncIterable<FileRow> | Iterable<FileRow>, db?: DemoDatabase): AsyncGenerator<ZipEntry> {
  for await (const row of rows) yield fileEntry(row, db);
}

/**
 * Stores the CRC-32 an export computed for a row that had none: only if the row still has none
 * and still holds the same bytes (same SHA-256), so that a file replaced meanwhile keeps no CRC
 * of other bytes. A failure is logged; the export goes on (it needs no stored CRC to be right).
 */
export async function rememberCrc32(row: FileRow, crc32: number, db: DemoDatabase = getDb()): Promise<void> {
  const { files } = tablesOf(db);
  try {
    await db
      .update(files)
      .set({ crc32 })
      .where(and(eq(files.id, row.id), isNull(files.crc32), eq(files.sha256, row.sha256)));
  } catch (error) {
    console.error(`files.zip: storing the CRC-32 of row ${row.id} failed`, error);
  }
}
