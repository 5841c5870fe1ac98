import path from 'node:path';
import { resolveOptions, type DownloadOptions, type RouteParams } from '../engine/options';
import { serve } from '../engine/serve';
import { noticingSource, observeDownload } from '../events/download-record';
import { pathSource, type PathSourceOptions } from '../sources/path-source';
import { storageSource } from '../sources/storage-source';
import type { Storage } from '../storage/storage';
import { checkDeliveryOptions, rememberStorageName, withDelivery, type DeliveryOptions } from './delivery';

export interface SendFileOptions extends DownloadOptions, PathSourceOptions, DeliveryOptions {
  /** When given, the file must lie under this folder (symlinks resolved), or it is 404. */
  root?: string;
  /**
   * When given, `file` is a name in this storage (checked by the storage) instead of a local
   * path, and `delivery: 'redirect'` may answer with the storage's own URL.
   */
  storage?: Storage;
  /** Route params, passed on to the `authorize` and `notFound` hooks. */
  params?: RouteParams;
}

/**
 * Answers a request with a local file, through the same engine as the factories (django-
 * downloadview's `sendfile` shortcut): for route handlers that pick the file themselves.
 * `file` is trusted (it is your code's choice); pass `root` to confine it anyway.
 *
 * @example
 * // app/invoices/[id]/route.ts
 * import { sendFile } from 'next-downloadview';
 * export async function GET(request: Request, { params }: { params: Promise<{ id: string }> }) {
 *   const invoice = await findInvoice((await params).id);
 *   if (!invoice) return new Response('Not Found', { status: 404 });
 *   return sendFile(request, invoice.pdfPath, { filename: `invoice-${invoice.number}.pdf` });
 * }
 * // From a storage, by redirect to its presigned URL where it has one:
 * return sendFile(request, invoice.key, { storage: bucket, delivery: 'redirect', filename: 'invoice.pdf' });
 */
export function sendFile(request: Request, file: string, options: SendFileOptions = {}): Promise<Response> {
  const resolved = resolveOptions(options, 'sendFile');
  const { storage } = options;
  const params = options.params ?? {};
  if (storage) {
    const delivery = withDelivery(
      noticingSource(async () => rememberStorageName(await storageSource(storage, file), file)),
      resolved,
      storage,
      checkDeliveryOptions(options, 'sendFile'),
    );
    return observeDownload(request, params, options.onDownload, () => serve(request, params, delivery.load, delivery.options));
  }
  const root = options.root === undefined ? undefined : path.resolve(/* turbopackIgnore: true */ options.root);
  const target = root === undefined ? path.resolve(/* turbopackIgnore: true */ file) : path.resolve(/* turbopackIgnore: true */ root, file);
  const load = noticingSource(() => pathSource(target, root, options));
  return observeDownload(request, params, options.onDownload, () => serve(request, params, load, resolved));
}
