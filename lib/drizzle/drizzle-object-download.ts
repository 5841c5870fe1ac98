import { eq, getTableColumns, getTableName, sql, type Column, type Table } from 'drizzle-orm';
import { ConfigurationError } from '../errors';
import type { RouteParams } from '../engine/options';
import { routeParam, type DownloadHandlers } from '../factories/handlers';
import { objectDownload, resolveFields, type ObjectDownloadOptions } from '../factories/object-download';
import { databaseUnavailable } from './database-unavailable';

/** A select whose SQL is built once: `execute` takes the value of its one placeholder. */
interface PreparedSelect {
  execute(values: Record<string, unknown>): PromiseLike<unknown[]> | unknown[];
}

/** The few methods of a Drizzle database the lookup uses (any dialect). */
interface SelectableDatabase {
  select(): {
    from(table: Table): {
      where(condition: unknown): {
        // Every dialect's select has `prepare`; Postgres's takes a statement name, which is left out
        // (a named, server-side statement breaks behind a transaction-mode pooler such as PgBouncer).
        limit(count: number): PromiseLike<unknown[]> & { prepare?: (name?: string) => PreparedSelect };
      };
    };
  };
}

/** Which row a request names: `column` (default `id`) equal to the route param `param` (default `id`). */
export interface DrizzleLookup {
  /** The table's column matched against the param. Default `id`. */
  column?: string;
  /** The route param holding the value, e.g. `id` for `app/files/[id]/route.ts`. Default `id`. */
  param?: string;
}

/** Options of `drizzleGetObject`. */
export interface DrizzleGetObjectOptions {
  /**
   * A Drizzle database of any dialect, or a function returning one: a function is called on the
   * first request, so that `next build`, which imports every route, opens no database.
   */
  db: unknown;
  /** The Drizzle table of the rows. */
  table: Table;
  lookup?: DrizzleLookup;
}

/**
 * Options of `drizzleObjectDownload`: `objectDownload`'s, with a table in place of `getObject`.
 * `fields` are typed by the table's selected row, so a misspelt column fails the type check.
 */
export interface DrizzleObjectDownloadOptions<T extends Table = Table, P extends RouteParams = RouteParams>
  extends Omit<ObjectDownloadOptions<T['$inferSelect'], P>, 'getObject'>,
    DrizzleGetObjectOptions {
  /** The Drizzle table of the rows. */
  table: T;
}

/**
 * A `getObject` for `objectDownload` that selects one row of a Drizzle table by a route param.
 * The column is checked at module load; a param that cannot be a value of a numeric column (not
 * a plain decimal integer) finds no row, so it answers 404 without a query.
 */
export function drizzleGetObject<Row extends object = Record<string, unknown>>(
  options: DrizzleGetObjectOptions,
): (request: Request, params: RouteParams) => Promise<Row | undefined> {
  const { db, table } = options;
  if (!db || !table) throw new ConfigurationError('drizzleGetObject: give db and table');
  const columns = tableColumns(table, 'drizzleGetObject');
  if (typeof db !== 'function' && typeof (db as Partial<SelectableDatabase>).select !== 'function') {
    throw new ConfigurationError('drizzleGetObject: db must be a Drizzle database, or a function returning one');
  }
  const database = (): SelectableDatabase => {
    const value: unknown = typeof db === 'function' ? (db as () => unknown)() : db;
    if (typeof (value as Partial<SelectableDatabase> | undefined)?.select !== 'function') {
      throw new Error('drizzleGetObject: the db function did not return a Drizzle database');
    }
    return value as SelectableDatabase;
  };
  const columnName = options.lookup?.column ?? 'id';
  const param = options.lookup?.param ?? 'id';
  const column = Object.hasOwn(columns, columnName) ? columns[columnName] : undefined;
  if (!column) throw new ConfigurationError(`drizzleGetObject: lookup.column "${columnName}" is not a column of the table`);
  const numeric = column.dataType === 'number' || column.dataType === 'bigint';

  // Building a select's SQL (and, on SQLite, compiling it) cost more than running it: it is done
  // once per database, with a placeholder for the value.
  const prepared = new WeakMap<object, PreparedSelect>();
  const select = (database: SelectableDatabase, value: unknown): PromiseLike<unknown[]> | unknown[] => {
    let query = prepared.get(database);
    if (!query) {
      const built = database.select().from(table).where(eq(column, sql.placeholder('value'))).limit(1);
      if (typeof built.prepare !== 'function') return database.select().from(table).where(eq(column, value)).limit(1);
      query = built.prepare();
      prepared.set(database, query);
    }
    // What drizzle does to a value it binds to this column itself.
    return query.execute({ value: column.mapToDriverValue(value) });
  };

  return async (_request, params) => {
    const raw = routeParam(params, param, 'drizzleObjectDownload', { segment: `[${param}]`, option: 'lookup.param' });
    if (typeof raw !== 'string') return undefined;
    let value: string | number | bigint = raw;
    if (numeric) {
      // Only a plain decimal id can name a row; anything else cannot exist, so it is 404.
      if (!/^-?[0-9]{1,19}$/.test(raw)) return undefined;
      value = column.dataType === 'bigint' ? BigInt(raw) : Number(raw);
      if (typeof value === 'number' && !Number.isSafeInteger(value)) return undefined;
    }
    if (!holds(column, value)) return undefined;
    let rows: unknown[];
    try {
      rows = await select(database(), value);
    } catch (error) {
      // A database that cannot be reached is a 503 the client may retry, not a 500.
      throw databaseUnavailable(error) ?? error;
    }
    return rows[0] as Row | undefined;
  };
}

/**
 * `objectDownload` over a Drizzle table (django-downloadview's ObjectDownloadView with a model):
 * the row whose `lookup.column` equals the route param is found for you, and every field mapped
 * in `fields` is checked to be a column of the table when the route module loads.
 *
 * @example
 * // app/files/[id]/route.ts
 * import { FileSystemStorage } from 'next-downloadview/storage';
 * import { drizzleObjectDownload } from 'next-downloadview/drizzle';
 * import { getDb } from '@/db';
 * import { files } from '@/db/schema';
 * export const { GET, HEAD } = drizzleObjectDownload({
 *   storage: new FileSystemStorage(process.env.MEDIA_ROOT!),
 *   db: getDb, table: files,                  // files.id = params.id
 *   fields: { file: 'storagePath', basename: 'name', contentType: 'contentType',
 *             size: 'size', checksum: 'sha256', lastModified: 'updatedAt' },
 * });
 */
export function drizzleObjectDownload<T extends Table, P extends RouteParams = RouteParams>(
  options: DrizzleObjectDownloadOptions<T, P>,
): DownloadHandlers {
  const { db, table, lookup, ...rest } = options;
  if (!table) throw new ConfigurationError('drizzleObjectDownload: give db and table');
  const columns = tableColumns(table, 'drizzleObjectDownload');
  for (const [key, value] of Object.entries(resolveFields(rest.fields))) {
    if (!Object.hasOwn(columns, value)) {
      throw new ConfigurationError(
        `drizzleObjectDownload: fields.${key} names "${value}", which is not a column of table "${getTableName(table)}"`,
      );
    }
  }
  type Row = T['$inferSelect'];
  return objectDownload<Row, P>({ ...rest, getObject: drizzleGetObject<Row>({ db, table, lookup }) });
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

function tableColumns(table: Table, factory: string): Record<string, Column> {
  try {
    return getTableColumns(table) as Record<string, Column>;
  } catch {
    throw new ConfigurationError(`${factory}: table must be a Drizzle table`);
  }
}
