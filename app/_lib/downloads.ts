import { and, count, desc, eq, inArray, lte, sql } from 'drizzle-orm';
import { HttpError } from 'next-downloadview';
import { databaseUnavailable } from 'next-downloadview/drizzle';
import { configureDownloadEvents, type DownloadEvent } from 'next-downloadview/events';
import { dialectOf, getDb, tablesOf, type DemoDatabase } from '@/db';

/**
 * The demo's download log: one row of the `downloads` table per download a demo route answered,
 * written by the process-wide download-events listener (installDownloadLog), and read back by
 * `GET /api/downloads` and the admin page.
 */

/** A row as the listener writes it; `fileId` is checked against the files table when written. */
export interface DownloadRecord {
  route: string;
  name: string | null;
  fileId: number | null;
  status: number;
  bytesSent: number;
  expectedBytes: number | null;
  outcome: string;
  startedAt: Date;
  durationMs: number;
}

/** What `GET /api/downloads` shows of a row: the record, its start as ISO 8601. */
export type DownloadJson = Omit<DownloadRecord, 'startedAt'> & { startedAt: string };

/** Longest route and name kept: the request line alone may be 16 KiB of a client's choosing. */
const MAX_ROUTE_CHARS = 2048;
const MAX_NAME_CHARS = 1024;

/** The route of `/api/files/{id}`, whose `id` param names a row of the files table. */
const FILES_ROUTE = /^\/api\/files\/[^/]+$/;

/**
 * The files row a download served: the `id` param of `/api/files/{id}`, when it is an id at all
 * (the same rule as the route's own); null for every other route. Whether the row exists is left
 * to the insert, which looks it up in the same statement.
 */
export function fileIdOf(event: Pick<DownloadEvent, 'route' | 'params'>): number | null {
  if (!FILES_ROUTE.test(event.route)) return null;
  const id = event.params.id;
  if (typeof id !== 'string' || !/^[1-9][0-9]{0,15}$/.test(id)) return null;
  const value = Number(id);
  return Number.isSafeInteger(value) ? value : null;
}

function wholeNonNegative(value: number): number {
  return Number.isFinite(value) && value > 0 ? Math.round(value) : 0;
}

/** Bounded, and without NUL, which Postgres refuses in text (a name from an upstream's header may hold one). */
function text(value: string, maxChars: number): string {
  return value.slice(0, maxChars).replaceAll('\0', '\uFFFD');
}

/** The row an event becomes. */
export function downloadRecordFor(event: DownloadEvent): DownloadRecord {
  return {
    route: text(event.route, MAX_ROUTE_CHARS),
    name: event.name === undefined ? null : text(event.name, MAX_NAME_CHARS),
    fileId: fileIdOf(event),
    status: event.status,
    bytesSent: wholeNonNegative(event.bytesSent),
    expectedBytes: event.expectedBytes === undefined ? null : wholeNonNegative(event.expectedBytes),
    outcome: event.outcome,
    startedAt: Number.isFinite(event.startedAt.getTime()) ? event.startedAt : new Date(),
    durationMs: wholeNonNegative(event.durationMs),
  };
}

export interface DownloadLogOptions {
  /**
   * Most rows written by one statement (default 100). Building the statement costs some 30 us a
   * row here, and SQLite's driver runs it on the event loop: 100 rows hold it about 3 ms, and
   * other requests get a turn between batches.
   */
  batchSize?: number;
  /**
   * Most rows waiting to be written (default 100,000, some 30 MB): past it, while the database
   * does not keep up, new rows are dropped and counted in the log rather than held without bound.
   */
  maxPending?: number;
  /** Where failures are reported (default console.error). */
  log?: (line: string) => void;
}

export interface DownloadLog {
  /** The download-events listener (a DownloadListener): queues the row and returns at once. */
  listener: (event: DownloadEvent) => void;
  /** Resolves once every row queued so far has been written (or has failed and been logged). */
  flush(): Promise<void>;
  /** On SQLite, writes what is still queued right now (the process is exiting); a no-op on Postgres. */
  flushSync(): void;
}

function describeError(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
}

/**
 * A download log writing to `db()` (called at the first write, so the database is opened by the
 * server, not when the module loads). Rows are queued and written a batch per statement, one
 * statement at a time: a burst of downloads costs an insert (on SQLite a commit, a sync to disk)
 * per batch instead of one per row, and the listener never waits for the database. A batch the
 * database refuses is written again row by row; a row it still refuses, or a batch that finds the
 * database unreachable, is logged with its count and dropped. The downloads themselves never notice.
 */
export function createDownloadLog(db: () => DemoDatabase, options: DownloadLogOptions = {}): DownloadLog {
  const { batchSize = 100, maxPending = 100_000, log = (line: string) => console.error(line) } = options;
  const queue: DownloadRecord[] = [];
  let dropped = 0;
  let draining: Promise<void> | undefined;

  function valuesOf(database: DemoDatabase, rows: DownloadRecord[]) {
    const { files } = tablesOf(database);
    // A file id that names no row (deleted meanwhile, or never there) is recorded as null
    // instead of failing the whole batch on the foreign key.
    return rows.map((row) => ({
      ...row,
      fileId: row.fileId === null ? null : sql<number>`(SELECT ${files.id} FROM ${files} WHERE ${files.id} = ${row.fileId})`,
    }));
  }

  async function write(rows: DownloadRecord[]): Promise<void> {
    try {
      const database = db();
      await database.insert(tablesOf(database).downloads).values(valuesOf(database, rows));
    } catch (error) {
      // One row the database refuses must not cost the others of its batch; a database that
      // cannot be reached would refuse them all, one by one.
      if (rows.length > 1 && !databaseUnavailable(error)) {
        for (const row of rows) await write([row]);
        return;
      }
      log(`demo: could not record ${rows.length} download${rows.length === 1 ? '' : 's'} in the downloads table: ${describeError(error)}`);
    }
  }

  async function drain(): Promise<void> {
    while (queue.length > 0) {
      // Lets the events of one turn gather into one batch, and other requests run between batches.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (dropped > 0) {
        log(`demo: ${dropped} download${dropped === 1 ? '' : 's'} not recorded: more than ${maxPending} were waiting for the database`);
        dropped = 0;
      }
      await write(queue.splice(0, batchSize));
    }
    draining = undefined;
  }

  function listener(event: DownloadEvent): void {
    try {
      if (queue.length >= maxPending) {
        dropped++;
        return;
      }
      queue.push(downloadRecordFor(event));
      draining ??= drain();
    } catch (error) {
      log(`demo: could not record a download of ${String(event?.route)}: ${describeError(error)}`);
    }
  }

  function flushSync(): void {
    if (queue.length === 0) return;
    let database: DemoDatabase;
    try {
      database = db();
      if (dialectOf(database) !== 'sqlite') return;
    } catch {
      return;
    }
    while (queue.length > 0) {
      const rows = queue.splice(0, batchSize);
      try {
        database.insert(tablesOf(database).downloads).values(valuesOf(database, rows)).run();
      } catch (error) {
        log(`demo: could not record ${rows.length} downloads at exit: ${describeError(error)}`);
      }
    }
  }

  return {
    listener,
    flush: async () => {
      while (draining) await draining;
    },
    flushSync,
  };
}

const INSTALLED = Symbol.for('next-downloadview.demo.download-log');
type Holder = typeof globalThis & { [INSTALLED]?: DownloadLog };

/**
 * Records every download of the process in the server's database: sets the package's
 * process-wide download listener, once per process however often it is called (the server's
 * instrumentation hook calls it at start). Rows still queued when the process exits are written
 * then on SQLite.
 */
export function installDownloadLog(): DownloadLog {
  const holder = globalThis as Holder;
  if (!holder[INSTALLED]) {
    const downloadLog = createDownloadLog(getDb);
    configureDownloadEvents(downloadLog.listener);
    process.once('exit', () => downloadLog.flushSync());
    holder[INSTALLED] = downloadLog;
  }
  return holder[INSTALLED];
}

/** Rows `GET /api/downloads` answers without `?limit=`, and the most it answers with one. */
export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 500;

/**
 * `?limit=`: absent means DEFAULT_LIMIT; a whole number from 1 (larger ones are capped at
 * MAX_LIMIT); anything else, or the parameter given twice, is a 400.
 */
export function parseLimit(values: readonly string[]): number {
  if (values.length === 0) return DEFAULT_LIMIT;
  const [value] = values;
  if (values.length > 1 || value === undefined || !/^[0-9]{1,20}$/.test(value) || Number(value) < 1) {
    throw new HttpError(400, `limit must be a whole number from 1 to ${MAX_LIMIT}`);
  }
  return Math.min(Number(value), MAX_LIMIT);
}

async function query<T>(run: () => PromiseLike<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw databaseUnavailable(error) ?? error;
  }
}

/** The newest `limit` downloads, newest first (by start, then by id). */
export async function listDownloads(limit: number, db: DemoDatabase = getDb()): Promise<DownloadJson[]> {
  const { downloads } = tablesOf(db);
  const rows = await query(() => db.select().from(downloads).orderBy(desc(downloads.startedAt), desc(downloads.id)).limit(limit));
  return rows.map((row) => ({
    route: row.route,
    name: row.name,
    fileId: row.fileId,
    status: row.status,
    bytesSent: row.bytesSent,
    expectedBytes: row.expectedBytes,
    outcome: row.outcome,
    startedAt: row.startedAt.toISOString(),
    durationMs: row.durationMs,
  }));
}

/** An aborted download as the admin page shows it. */
export interface AbortedDownload {
  startedAt: Date;
  bytesSent: number;
  expectedBytes: number | null;
  status: number;
}

/** What the admin page shows of one file's downloads. */
export interface FileDownloads {
  completed: number;
  /** The newest aborted ones, newest first. */
  aborted: AbortedDownload[];
}

/**
 * For each of `fileIds`: how many downloads of it completed, and its `abortedPerFile` newest
 * aborted ones. Two statements whatever the number of files, each read from the per-file index.
 */
export async function downloadsByFile(fileIds: readonly number[], db: DemoDatabase = getDb(), abortedPerFile = 3): Promise<Map<number, FileDownloads>> {
  const result = new Map<number, FileDownloads>(fileIds.map((id) => [id, { completed: 0, aborted: [] }]));
  if (fileIds.length === 0) return result;
  const { downloads } = tablesOf(db);
  const ids = [...result.keys()];
  const ranked = db
    .select({
      fileId: downloads.fileId,
      startedAt: downloads.startedAt,
      bytesSent: downloads.bytesSent,
      expectedBytes: downloads.expectedBytes,
      status: downloads.status,
      rank: sql<number>`row_number() over (partition by ${downloads.fileId} order by ${downloads.startedAt} desc, ${downloads.id} desc)`.as('rank'),
    })
    .from(downloads)
    .where(and(inArray(downloads.fileId, ids), eq(downloads.outcome, 'aborted')))
    .as('ranked');
  const [completed, aborted] = await Promise.all([
    query(() =>
      db
        .select({ fileId: downloads.fileId, completed: count() })
        .from(downloads)
        .where(and(inArray(downloads.fileId, ids), eq(downloads.outcome, 'completed')))
        .groupBy(downloads.fileId),
    ),
    query(() => db.select().from(ranked).where(lte(ranked.rank, abortedPerFile)).orderBy(ranked.fileId, sql`${sql.identifier('rank')}`)),
  ]);
  for (const row of completed) if (row.fileId !== null) result.get(row.fileId)!.completed = Number(row.completed);
  for (const row of aborted) {
    if (row.fileId === null) continue;
    result.get(Number(row.fileId))?.aborted.push({
      startedAt: row.startedAt,
      bytesSent: Number(row.bytesSent),
      expectedBytes: row.expectedBytes === null ? null : Number(row.expectedBytes),
      status: Number(row.status),
    });
  }
  return result;
}
