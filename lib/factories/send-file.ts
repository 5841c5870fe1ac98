import path from 'node:path';
import { resolveOptions, type DownloadOptions, type RouteParams } from '../engine/options';
import { serve } from '../engine/serve';
import { pathSource, type PathSourceOptions } from '../sources/path-source';

export interface SendFileOptions extends DownloadOptions, PathSourceOptions {
  /** When given, the file must lie under this folder (symlinks resolved), or it is 404. */
  root?: string;
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
 */
export function sendFile(request: Request, file: string, options: SendFileOptions = {}): Promise<Response> {
  const resolved = resolveOptions(options, 'sendFile');
  const root = options.root === undefined ? undefined : path.resolve(/* turbopackIgnore: true */ options.root);
  const target = root === undefined ? path.resolve(/* turbopackIgnore: true */ file) : path.resolve(/* turbopackIgnore: true */ root, file);
  return serve(request, options.params ?? {}, () => pathSource(target, root, options), resolved);
}
