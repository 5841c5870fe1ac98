import { digestFromHex, type Digests } from '../http/digest';
import { HttpError, ConfigurationError } from '../errors';
import { resolveOptions, type DownloadOptions, type RouteParams } from '../engine/options';
import type { Source } from '../engine/source';
import { createHandlers, type DownloadHandlers } from './handlers';
import { applyDelivery, type DeliveryOptions } from './delivery';
import { ifFound, negotiatePrecompressed, resolvePrecompressed, type PrecompressedEncoding, type PrecompressedOption } from '../sources/precompressed';
import { storageSource } from '../sources/storage-source';
import type { Storage } from '../storage/storage';

/** A property name of the row type: a typo in `fields` fails the type check. */
export type RowField<Row extends object> = Extract<keyof Row, string>;

/**
 * Which property of the row holds what (django-downloadview's `file_field`, `basename_field`,
 * `mime_type_field`, ...). Only `file` is needed; each one given is used. Each value is a key of
 * the row's type.
 */
export interface ObjectFields<Row extends object = Record<string, unknown>> {
  /** The file's name in the storage. Default `file`. */
  file?: RowField<Row>;
  /** The name offered to the browser. Default: the last segment of the storage name. */
  basename?: RowField<Row>;
  /** Media type, e.g. `application/pdf`. */
  contentType?: RowField<Row>;
  /** Charset of a textual file. */
  charset?: RowField<Row>;
  /** Content-Encoding the stored bytes are in (e.g. `gzip` for a stored `.gz` served as-is). */
  encoding?: RowField<Row>;
  /** Modification time: a Date, epoch milliseconds or an ISO string. Default: the storage's. */
  lastModified?: RowField<Row>;
  /** Size in bytes as recorded; checked against the stored file. */
  size?: RowField<Row>;
  /** A checksum or version of the content (e.g. a SHA-256), sent as a strong ETag. */
  checksum?: RowField<Row>;
}

/** The field mapping once checked, with its default: plain property names. */
type ResolvedFields = { [K in keyof ObjectFields]?: string } & { file: string };

export interface ObjectDownloadOptions<Row extends object = Record<string, unknown>, P extends RouteParams = RouteParams>
  extends DownloadOptions<P>,
    DeliveryOptions {
  /** Where the file field's names point. */
  storage: Storage;
  /**
   * Finds the row for a request; `undefined`/`null` is 404. With Drizzle, `drizzleObjectDownload`
   * from `next-downloadview/drizzle` writes it for you from a table.
   */
  getObject: (request: Request, params: P) => Row | undefined | null | Promise<Row | undefined | null>;
  /** Which property of the row holds what; typed by the row that `getObject` returns. */
  fields?: ObjectFields<NoInfer<Row>>;
  /**
   * Serve `name.br` or `name.gz` stored beside the row's file in place of it when the request's
   * Accept-Encoding takes it, as `storageDownload`'s option does: `true` (Brotli, then gzip), a
   * list of `'br'` / `'gzip'` (best first), or `{ encodings, stale: 'serve' }`. The sibling keeps
   * the row's name and type and has its own length, dates and ETag (the row's checksum and
   * digest describe the file itself, so they are not sent with it). A sibling older than the
   * stored file is ignored: the dates compared are the files', not the row's `lastModified`. A
   * row whose `encoding` field names a coding is sent as it is. Only under the kit's server.
   * Default off.
   */
  precompressed?: PrecompressedOption;
}

const FIELD_NAMES = ['file', 'basename', 'contentType', 'charset', 'encoding', 'lastModified', 'size', 'checksum'] as const;

/**
 * Serves the file a database row points to (django-downloadview's ObjectDownloadView), with
 * every metadata field of the row put to use. A missing row, an empty file field, or a file
 * missing from the storage is 404.
 *
 * @example
 * // app/documents/[id]/route.ts
 * import { objectDownload } from 'next-downloadview';
 * import { FileSystemStorage } from 'next-downloadview/storage';
 * import { findDocument } from '@/app/documents';    // your own lookup
 * export const { GET, HEAD } = objectDownload({
 *   storage: new FileSystemStorage('var/media'),
 *   getObject: (_request, { id }) => findDocument(String(id)),
 *   fields: { file: 'storagePath', basename: 'name', contentType: 'contentType',
 *             size: 'size', checksum: 'sha256', lastModified: 'updatedAt' },
 * });
 */
export function objectDownload<Row extends object = Record<string, unknown>, P extends RouteParams = RouteParams>(
  options: ObjectDownloadOptions<Row, P>,
): DownloadHandlers {
  const resolved = resolveOptions(options as DownloadOptions, 'objectDownload');
  const { storage, getObject } = options;
  if (!storage || typeof storage.stat !== 'function' || typeof storage.open !== 'function') {
    throw new ConfigurationError('objectDownload: storage must implement the Storage interface');
  }
  if (typeof getObject !== 'function') {
    throw new ConfigurationError('objectDownload: getObject must be a function (for a Drizzle table, see next-downloadview/drizzle)');
  }
  const fields = resolveFields(options.fields);
  const variants = resolvePrecompressed(options.precompressed, 'objectDownload');
  return createHandlers(async (request, params) => {
    const found = await getObject(request, params as P);
    if (found === undefined || found === null) throw new HttpError(404, 'Not Found');
    const row = found as Record<string, unknown>;
    const { name, stored } = await storedFile(row, fields, storage);
    const described = describeStored(row, fields, name, stored);
    if (!variants || described.encoding) return described;
    // Negotiated on the stored file, so a sibling's staleness is judged by the files' own
    // dates: a row's lastModified also moves when the row alone is edited (a rename).
    const chosen = await negotiatePrecompressed(request, stored, variants, (suffix) => ifFound(() => storageSource(storage, name + suffix)));
    const encoding = chosen.encoding as PrecompressedEncoding | undefined;
    if (!encoding) return chosen.vary ? { ...described, vary: chosen.vary } : described;
    // The sibling as the row names and types the file; a redirect goes to the sibling, which
    // locates itself.
    return { ...chosen, name: described.name, contentType: described.contentType, charset: described.charset };
  }, applyDelivery(resolved, options, 'objectDownload'));
}

/**
 * The field mapping with its default (`file`), checked once at module load: an unknown key or a
 * value that is not a property name throws a `ConfigurationError`.
 */
export function resolveFields(given: { [K in keyof ObjectFields]?: string } | undefined): ResolvedFields {
  const fields: ResolvedFields = { file: 'file', ...given };
  for (const [key, value] of Object.entries(fields)) {
    if (!(FIELD_NAMES as readonly string[]).includes(key)) {
      throw new ConfigurationError(`objectDownload: unknown field mapping "${key}" (known: ${FIELD_NAMES.join(', ')})`);
    }
    if (typeof value !== 'string' || value === '') throw new ConfigurationError(`objectDownload: fields.${key} must be a property name`);
  }
  return fields;
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
  fields: ResolvedFields,
  storage: Storage,
): Promise<Source> {
  const { name, stored } = await storedFile(row, fields, storage);
  return describeStored(row, fields, name, stored);
}

/** The row's file as the storage has it, and its name there. */
async function storedFile(row: Record<string, unknown>, fields: ResolvedFields, storage: Storage): Promise<{ name: string; stored: Source }> {
  const name = text(row, fields.file);
  if (name === undefined) throw new HttpError(404, 'Not Found');
  try {
    return { name, stored: await storageSource(storage, name) };
  } catch (error) {
    // A name the storage refuses is bad data in the row, not a bad request: nothing to serve.
    if (error instanceof HttpError && error.status === 400) {
      console.warn(`objectDownload: the row's file "${name}" is not a valid storage name`);
      throw new HttpError(404, 'Not Found');
    }
    throw error;
  }
}

/** The stored file with what the row says of it. */
function describeStored(row: Record<string, unknown>, fields: ResolvedFields, name: string, source: Source): Source {
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
    return described;
  }
  const checksum = text(row, fields.checksum);
  return {
    ...described,
    lastModified: date(row, fields.lastModified) ?? source.lastModified,
    etag: checksum ?? source.etag,
    digests: checksumDigests(checksum) ?? source.digests,
  };
}

/**
 * A checksum of 64 or 128 hex digits is taken for the content's SHA-256 or SHA-512 (the row's
 * `sha256` column, saved from the bytes on upload) and sent as its Repr-Digest; any other
 * checksum stays an ETag only.
 */
function checksumDigests(checksum: string | undefined): Digests | undefined {
  const sha256 = digestFromHex('sha-256', checksum);
  if (sha256) return { 'sha-256': sha256 };
  const sha512 = digestFromHex('sha-512', checksum);
  return sha512 ? { 'sha-512': sha512 } : undefined;
}
