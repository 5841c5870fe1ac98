import { randomUUID } from 'node:crypto';
import { asc, count, desc, eq, gt } from 'drizzle-orm';
import { HttpError } from 'next-downloadview';
import { databaseUnavailable } from 'next-downloadview/drizzle';
import { receiveUpload } from 'next-downloadview/upload';
import { getDb, type DemoDatabase } from '@/db';
import { files, type FileRow } from '@/db/schema';
import { filesStorage, filesStorageReady, maxUploadBytes } from './demo';

/** What the API shows of a file. */
export interface FileJson {
  id: number;
  name: string;
  size: number;
  contentType: string;
  sha256: string;
  createdAt: string;
  updatedAt: string;
}

export function toJson(row: FileRow): FileJson {
  return {
    id: row.id,
    name: row.name,
    size: row.size,
    contentType: row.contentType,
    sha256: row.sha256,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/**
 * Runs a query; a database that cannot be reached (stopped, frozen, refusing) fails it with a
 * 503 and Retry-After instead of a 500, for every route that answers from the table.
 */
async function query<T>(run: () => PromiseLike<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw databaseUnavailable(error) ?? error;
  }
}

/** A storage name for an upload: generated, never the client's; keeps a plain extension. */
export function storageNameFor(clientName: string): string {
  const extension = /\.[A-Za-z0-9]{1,10}$/.exec(clientName)?.[0].toLowerCase() ?? '';
  return `uploads/${randomUUID()}${extension}`;
}

/**
 * Stores an uploaded file and records it. The row is written only once the bytes are safely in
 * the storage; if writing the row fails, the bytes are removed again.
 */
export async function createFile(request: Request, db: DemoDatabase = getDb()): Promise<FileRow> {
  await filesStorageReady();
  const upload = await receiveUpload(request, filesStorage, { maxBytes: maxUploadBytes(), name: storageNameFor });
  const name = upload.clientName || 'upload';
  const now = new Date();
  try {
    const [row] = await db
      .insert(files)
      .values({
        name,
        storagePath: upload.stored.name,
        size: upload.size,
        contentType: upload.contentType,
        sha256: upload.sha256,
        crc32: upload.crc32,
        createdAt: now,
        updatedAt: now,
      })
      .returning();
    if (!row) throw new Error('insert returned no row');
    return row;
  } catch (error) {
    await filesStorage.delete(upload.stored.name);
    throw databaseUnavailable(error) ?? error;
  }
}

/** Parses a file id from the URL: a positive whole number, or 404. */
export function parseId(value: string | undefined): number {
  const id = value && /^[1-9][0-9]{0,15}$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(id)) throw new HttpError(404, 'Not Found');
  return id;
}

/**
 * Deletes the row, then the bytes. A crash in between leaves an unreferenced file, never a row
 * that points at nothing.
 */
export async function deleteFile(id: number, db: DemoDatabase = getDb()): Promise<boolean> {
  await filesStorageReady();
  const [row] = await query(() => db.delete(files).where(eq(files.id, id)).returning());
  if (!row) return false;
  await filesStorage.delete(row.storagePath);
  return true;
}

export async function listFiles(db: DemoDatabase = getDb()): Promise<FileRow[]> {
  return query(() => db.select().from(files).orderBy(asc(files.id)));
}

/**
 * Most rows the admin page shows. Rendering every row made a page of 20 MB for 8,000 rows, and
 * React renders in one go: seconds during which no other request of the process was answered.
 */
export const PAGE_ROWS_LIMIT = 500;

/** The newest `limit` rows, in id order, and how many rows there are in all. */
export async function newestFiles(db: DemoDatabase = getDb(), limit = PAGE_ROWS_LIMIT): Promise<{ rows: FileRow[]; total: number }> {
  const [rows, [counted]] = await Promise.all([
    db.select().from(files).orderBy(desc(files.id)).limit(limit),
    db.select({ total: count() }).from(files),
  ]);
  return { rows: rows.reverse(), total: counted?.total ?? rows.length };
}

/**
 * The files table as a JSON array, made a page of rows at a time: the whole list, as before,
 * without building it (or its 2 MB of text for 8,000 rows) in one piece while every other request waits.
 */
export async function* filesJson(db: DemoDatabase = getDb()): AsyncGenerator<string> {
  yield '[';
  let separator = '';
  for await (const row of iterateFiles(db)) {
    yield separator + JSON.stringify(toJson(row));
    separator = ',';
  }
  yield ']';
}

/** Every row, in id order, fetched a page at a time so memory does not grow with the table. */
export async function* iterateFiles(db: DemoDatabase = getDb(), pageSize = 500): AsyncGenerator<FileRow> {
  let after = 0;
  for (;;) {
    const page = await query(() => db.select().from(files).where(gt(files.id, after)).orderBy(asc(files.id)).limit(pageSize));
    yield* page;
    if (page.length < pageSize) return;
    after = page[page.length - 1]!.id;
  }
}

/**
 * One CSV field (RFC 4180): quoted when it holds a comma, quote or line break. A leading
 * `=`, `+`, `-`, `@`, tab or CR is prefixed with `'` so a spreadsheet shows it as text instead of
 * running it as a formula.
 */
export function csvField(value: string | number): string {
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export const CSV_HEADER = ['id', 'name', 'size', 'content_type', 'sha256', 'created_at', 'updated_at'];

/** The files table as CSV lines, generated row by row. */
export async function* filesCsv(db: DemoDatabase = getDb()): AsyncGenerator<string> {
  yield `${CSV_HEADER.join(',')}\r\n`;
  for await (const row of iterateFiles(db)) {
    const json = toJson(row);
    yield `${[json.id, json.name, json.size, json.contentType, json.sha256, json.createdAt, json.updatedAt].map(csvField).join(',')}\r\n`;
  }
}
