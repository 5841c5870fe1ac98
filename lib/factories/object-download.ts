import { eq, getTableColumns, getTableName, type Column, type Table } from 'drizzle-orm';
import { HttpError } from '../http/http-error';
import { ConfigurationError, resolveOptions, type DownloadOptions, type RouteParams } from '../engine/options';
import type { Source } from '../engine/source';
import { createHandlers, type DownloadHandlers } from '../handlers';
import { checkDeliveryOptions, rememberStorageName, withDelivery, type DeliveryOptions } from './delivery';
import { storageSource } from '../sources/storage-source';
import type { Storage } from '../storage/storage';

/**
 * Which property of the row holds what (django-downloadview's `file_field`, `basename_field`,
 * `mime_type_field`, ...). Only `file` is needed; each one given is used.
 */
export interface ObjectFields {
  /** The file's name in the storage. Default `file`. */
  file?: string;
  /** The name offered to the browser. Default: the last segment of the storage name. */
  basename?: string;
  /** Media type, e.g. `application/pdf`. */
  contentType?: string;
  charset?: string;
  /** Content-Encoding the stored bytes are in (e.g. `gzip` for a stored `.gz` served as-is). */
  encoding?: string;
  /** Modification time: a Date, epoch milliseconds or an ISO string. Default: the storage's. */
  lastModified?: string;
  /** Size in bytes as recorded; checked against the stored file. */
  size?: string;
  /** A checksum or version of the content (e.g. a SHA-256), sent as a strong ETag. */
  checksum?: string;
}

/** The few methods of a Drizzle database the lookup uses (any dialect). */
interface SelectableDatabase {
  select(): { from(table: Table): { where(condition: unknown): { limit(count: number): PromiseLike<unknown[]> } } };
}

export interface ObjectDownloadOptions<Row extends object = Record<string, unknown>> extends DownloadOptions, DeliveryOptions {
  /** Where the file field's names point. */
  storage: Storage;
  /** Finds the row for a request; `undefined`/`null` is 404. */
  getObject?: (request: Request, params: RouteParams) => Row | undefined | null | Promise<Row | undefined | null>;
  /**
   * Or let the factory find it: a Drizzle database (or a function returning it, to open it on
   * first use) and table, matched on `lookup.column` (default `id`) against the route param
   * `lookup.param` (default `id`).
   */
  db?: unknown;
  /** The Drizzle table of the rows; also used to check `fields` at module load. */
  table?: Table;
  lookup?: { column?: string; param?: string };
  fields?: ObjectFields;
}

const FIELD_NAMES = ['file', 'basename', 'contentType', 'charset', 'encoding', 'lastModified', 'size', 'checksum'] as const;

/**
 * Serves the file a database row points to (django-downloadview's ObjectDownloadView), with
 * every metadata field of the row put to use. A missing row, an empty file field, or a file
 * missing from the storage is 404.
 *
 * @example
 * // app/files/[id]/route.ts
 * import { objectDownload, FileSystemStorage } from '@/lib';
 * import { db } from '@/db';
 * import { files } from '@/db/schema';
 * export const { GET, HEAD } = objectDownload({
 *   storage: new FileSystemStorage('var/media'),
 *   db, table: files,                      // looks up files.id = params.id
 *   fields: { file: 'storagePath', basename: 'name', contentType: 'contentType',
 *             size: 'size', checksum: 'sha256', lastModified: 'updatedAt' },
 * });
 */
export function objectDownload<Row extends object = Record<string, unknown>>(
  options: ObjectDownloadOptions<Row>,
): DownloadHandlers {
  const resolved = resolveOptions(options, 'objectDownload');
  const { storage, table } = options;
  if (!storage || typeof storage.stat !== 'function' || typeof storage.open !== 'function') {
    throw new ConfigurationError('objectDownload: storage must implement the Storage interface');
  }
  const fields: Required<Pick<ObjectFields, 'file'>> & ObjectFields = { file: 'file', ...options.fields };
  for (const [key, value] of Object.entries(fields)) {
    if (!(FIELD_NAMES as readonly string[]).includes(key)) {
      throw new ConfigurationError(`objectDownload: unknown field mapping "${key}" (known: ${FIELD_NAMES.join(', ')})`);
    }
    if (typeof value !== 'string' || value === '') throw new ConfigurationError(`objectDownload: fields.${key} must be a property name`);
  }
  const columns = table ? (getTableColumns(table) as Record<string, Column>) : undefined;
  if (columns) {
    for (const [key, value] of Object.entries(fields)) {
      if (!Object.hasOwn(columns, value)) {
        throw new ConfigurationError(`objectDownload: fields.${key} names "${value}", which is not a column of table "${getTableName(table!)}"`);
      }
    }
  }

  const getObject = options.getObject ?? drizzleLookup(options, columns);
  const delivery = withDelivery(
    async (request, params) => {
      const row = await getObject(request, params);
      if (row === undefined || row === null) throw new HttpError(404, 'Not Found');
      return objectSource(row as Record<string, unknown>, fields, storage);
    },
    resolved,
    storage,
    checkDeliveryOptions(options, 'objectDownload'),
  );
  return createHandlers(delivery.load, delivery.options);
}

function drizzleLookup<Row extends object>(
  options: ObjectDownloadOptions<Row>,
  columns: Record<string, Column> | undefined,
): (request: Request, params: RouteParams) => Promise<Row | undefined> {
  const { db, table } = options;
  if (!db || !table || !columns) {
    throw new ConfigurationError('objectDownload: give getObject, or db and table');
  }
  if (typeof db !== 'function' && typeof (db as Partial<SelectableDatabase>).select !== 'function') {
    throw new ConfigurationError('objectDownload: db must be a Drizzle database, or a function returning one');
  }
  const database = (): SelectableDatabase => {
    const value: unknown = typeof db === 'function' ? (db as () => unknown)() : db;
    if (typeof (value as Partial<SelectableDatabase> | undefined)?.select !== 'function') {
      throw new Error('objectDownload: the db function did not return a Drizzle database');
    }
    return value as SelectableDatabase;
  };
  const columnName = options.lookup?.column ?? 'id';
  const param = options.lookup?.param ?? 'id';
  const column = Object.hasOwn(columns, columnName) ? columns[columnName] : undefined;
  if (!column) throw new ConfigurationError(`objectDownload: lookup.column "${columnName}" is not a column of the table`);
  const numeric = column.dataType === 'number' || column.dataType === 'bigint';

  return async (_request, params) => {
    const raw = params[param];
    if (typeof raw !== 'string') return undefined;
    let value: string | number | bigint = raw;
    if (numeric) {
      // Only a plain decimal id can name a row; anything else cannot exist, so it is 404.
      if (!/^-?[0-9]{1,19}$/.test(raw)) return undefined;
      value = column.dataType === 'bigint' ? BigInt(raw) : Number(raw);
      if (typeof value === 'number' && !Number.isSafeInteger(value)) return undefined;
    }
    if (!holds(column, value)) return undefined;
    const rows = await database().select().from(table!).where(eq(column, value)).limit(1);
    return rows[0] as Row | undefined;
  };
}

/** Postgres's integer column types narrower than 64 bits, and the bound of their magnitude. */
const PG_INTEGER_BOUNDS: Record<string, number> = { PgSmallInt: 2 ** 15, PgSmallSerial: 2 ** 15, PgInteger: 2 ** 31, PgSerial: 2 ** 31 };
/** The forms of a uuid Postgres takes as input: 32 hex digits, a hyphen allowed after any group of four, braces. */
const PG_UUID = /^\{?[0-9a-f]{4}(?:-?[0-9a-f]{4}){7}\}?$/i;

/**
 * Whether the column can hold the value at all. SQLite finds no row for a value out of a
 * column's type; Postgres fails the whole query (an integer out of range, a malformed uuid, a NUL
 * in text), which would be a 500 for what is only a URL naming no row: it is 404 without a query.
 */
function holds(column: Column, value: string | number | bigint): boolean {
  const bound = PG_INTEGER_BOUNDS[column.columnType];
  if (bound !== undefined) return typeof value === 'number' && value >= -bound && value < bound;
  if (column.columnType === 'PgUUID') return typeof value === 'string' && PG_UUID.test(value);
  if (column.columnType.startsWith('Pg') && typeof value === 'string') return !value.includes('\u0000');
  return true;
}

function text(row: Record<string, unknown>, field: string | undefined): string | undefined {
  if (field === undefined) return undefined;
  const value = row[field];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function date(row: Record<string, unknown>, field: string | undefined): Date | undefined {
  if (field === undefined) return undefined;
  const value = row[field];
  const parsed = value instanceof Date ? value : typeof value === 'number' || typeof value === 'string' ? new Date(value) : undefined;
  return parsed && !Number.isNaN(parsed.getTime()) ? parsed : undefined;
}

/** The stored file, described by the row's fields where the row has them. */
export async function objectSource(
  row: Record<string, unknown>,
  fields: ObjectFields & { file: string },
  storage: Storage,
): Promise<Source> {
  const name = text(row, fields.file);
  if (name === undefined) throw new HttpError(404, 'Not Found');
  let source: Source;
  try {
    source = await storageSource(storage, name);
  } catch (error) {
    // A name the storage refuses is bad data in the row, not a bad request: nothing to serve.
    if (error instanceof HttpError && error.status === 400) {
      console.warn(`objectDownload: the row's file "${name}" is not a valid storage name`);
      throw new HttpError(404, 'Not Found');
    }
    throw error;
  }
  const described = {
    ...source,
    name: text(row, fields.basename) ?? source.name,
    contentType: text(row, fields.contentType) ?? source.contentType,
    charset: text(row, fields.charset),
    encoding: text(row, fields.encoding),
  };
  const recordedSize = fields.size === undefined ? undefined : row[fields.size];
  if (typeof recordedSize === 'number' && recordedSize !== source.size) {
    // The bytes in the storage are not the ones the row describes (changed outside the app):
    // the length sent is the real one, and the row's checksum and date no longer apply to them.
    console.warn(`objectDownload: "${name}" is ${source.size} bytes, the row says ${recordedSize}`);
    return rememberStorageName(described, name);
  }
  return rememberStorageName({
    ...described,
    lastModified: date(row, fields.lastModified) ?? source.lastModified,
    etag: text(row, fields.checksum) ?? source.etag,
  }, name);
}
