import { randomUUID } from 'node:crypto';
import { ConfigurationError, HttpError, isNextControlFlow } from '../errors';
import { errorResponse } from '../http/http-error';
import type { Storage } from '../storage/storage';
import { receiveUpload, type ReceivedUpload, type ReceiveUploadOptions } from './receive-upload';

/** Options of `uploadRoute`. */
export interface UploadRouteOptions extends Omit<ReceiveUploadOptions, 'name'> {
  /** Where uploads are saved. */
  storage: Storage;
  /**
   * The storage name to save under, from the client's file name (already reduced to a safe
   * basename). Default: `uploads/<random UUID>` plus the client's extension when it is short
   * and plain (`.pdf`, `.tar.gz` keeps `.gz`). Never the client's name itself.
   */
  name?: (clientName: string) => string;
  /**
   * Runs before a byte of the body is read: `false` answers 403, a Response answers with it, and
   * Next's `redirect()` / `unauthorized()` work as in any route.
   */
  authorize?: (request: Request) => boolean | void | Response | Promise<boolean | void | Response>;
  /**
   * What to answer once the file is stored (record it in your database here). Return a Response
   * to answer with it (or call Next's `redirect()`); throw an `HttpError` to refuse the file (it
   * is removed from the storage again, as on any other error). Default: 201 with the JSON of
   * `uploadSummary`.
   */
  onUpload?: (upload: ReceivedUpload, request: Request) => Response | void | Promise<Response | void>;
}

/** What `uploadRoute` returns: export `POST` from the route. */
export interface UploadHandlers {
  /** Receives the upload and answers 201, or the refusal's 4xx. */
  POST: (request: Request) => Promise<Response>;
}

/** What `uploadRoute` answers by default: the stored name and what was received. */
export interface UploadSummary {
  /** The file's name in the storage. */
  name: string;
  /** The client's file name, reduced to a basename (may be empty). */
  clientName: string;
  /** Media type the client declared; untrusted. */
  clientType: string | null;
  size: number;
  /** Hex SHA-256 of the bytes. */
  sha256: string;
}

/** The JSON `uploadRoute` answers with when `onUpload` returns nothing. */
export function uploadSummary(upload: ReceivedUpload): UploadSummary {
  return {
    name: upload.stored.name,
    clientName: upload.clientName,
    clientType: upload.clientType ?? null,
    size: upload.size,
    sha256: upload.sha256,
  };
}

/** A short, plain extension of the client's name, kept so that the stored file keeps its type. */
const PLAIN_EXTENSION = /\.[A-Za-z0-9]{1,10}$/;

function defaultName(clientName: string): string {
  const extension = PLAIN_EXTENSION.exec(clientName)?.[0]?.toLowerCase() ?? '';
  return `uploads/${randomUUID()}${extension}`;
}

/**
 * A `POST` route handler that streams a `multipart/form-data` upload into a storage
 * (`receiveUpload`), with every refusal answered for you: 415 for a body that is not multipart,
 * 400 for one without the file field or malformed, 413 past `maxBytes`, 403 when `authorize`
 * says no. The file is stored under a name of the route's choosing, never the client's.
 *
 * @example
 * // app/uploads/route.ts
 * import { uploadRoute } from 'next-downloadview/upload';
 * import { FileSystemStorage } from 'next-downloadview/storage';
 * const media = new FileSystemStorage(process.env.MEDIA_ROOT!);
 * export const { POST } = uploadRoute({ storage: media, maxBytes: 100 * 2 ** 20 });
 */
export function uploadRoute(options: UploadRouteOptions): UploadHandlers {
  const { storage, authorize, onUpload, name = defaultName } = options;
  if (!storage || typeof storage.save !== 'function' || typeof storage.delete !== 'function') {
    throw new ConfigurationError('uploadRoute: storage must implement the Storage interface (save, delete, ...)');
  }
  if (!Number.isSafeInteger(options.maxBytes) || options.maxBytes < 1) {
    throw new ConfigurationError(`uploadRoute: maxBytes must be a whole number of bytes >= 1, got ${String(options.maxBytes)}`);
  }
  for (const [hook, value] of Object.entries({ name, authorize, onUpload })) {
    if (value !== undefined && typeof value !== 'function') throw new ConfigurationError(`uploadRoute: ${hook} must be a function`);
  }
  const receive: ReceiveUploadOptions = { field: options.field, maxBytes: options.maxBytes, name };

  async function POST(request: Request): Promise<Response> {
    try {
      if (authorize) {
        const verdict = await authorize(request);
        if (verdict instanceof Response) return verdict;
        if (verdict === false) throw new HttpError(403, 'Forbidden');
      }
      const upload = await receiveUpload(request, storage, receive);
      let answer: Response | void;
      try {
        answer = onUpload ? await onUpload(upload, request) : undefined;
      } catch (error) {
        // `redirect('/files')` after a stored upload is the app's answer, not a refusal.
        if (isNextControlFlow(error)) throw error;
        // Refused after all (or the record could not be written): the file does not stay behind.
        await storage.delete(upload.stored.name).catch((deleteError: unknown) => {
          console.error(`uploadRoute: removing ${upload.stored.name} after onUpload failed`, deleteError);
        });
        throw error;
      }
      return answer instanceof Response ? answer : Response.json(uploadSummary(upload), { status: 201 });
    } catch (error) {
      return errorResponse(error);
    }
  }
  return { POST };
}
