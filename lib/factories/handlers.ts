import { ALLOWED_METHODS, serve, type LoadSource } from '../engine/serve';
import type { ResolvedOptions, RouteParams } from '../engine/options';
import { ConfigurationError } from '../errors';
import { noticingSource, observeDownload } from '../events/download-record';

/**
 * The second argument Next passes to a route handler. `params` is a Promise since Next 15;
 * a plain object is accepted too, so handlers can be called directly in tests.
 */
export interface HandlerContext {
  params: Promise<RouteParams> | RouteParams;
}

/** A Next App Router route handler. The context is optional for routes without params. */
export type RouteHandler = (request: Request, context?: HandlerContext) => Promise<Response>;

/**
 * What every factory returns. `GET` and `HEAD` are the download (export HEAD yourself: Next's
 * automatic HEAD runs GET and never closes the body). The others answer 405 with `Allow` and
 * OPTIONS 204 with `Allow`; export them too if the route should say so (Next's own 405 has no
 * `Allow` header).
 */
export interface DownloadHandlers {
  GET: RouteHandler;
  HEAD: RouteHandler;
  OPTIONS: RouteHandler;
  POST: RouteHandler;
  PUT: RouteHandler;
  PATCH: RouteHandler;
  DELETE: RouteHandler;
}

/** `serve` checks the method itself, so one handler answers all of them. */
export function createHandlers(load: LoadSource, options: ResolvedOptions): DownloadHandlers {
  const loadNoticed = noticingSource(load);
  const download: RouteHandler = async (request, context) => {
    const params = await paramsOf(context);
    return observeDownload(request, params, options.onDownload, () => serve(request, params, loadNoticed, options));
  };
  const allow: RouteHandler = async () =>
    new Response(null, { status: 204, headers: { allow: `${ALLOWED_METHODS}, OPTIONS` } });
  return { GET: download, HEAD: download, OPTIONS: allow, POST: download, PUT: download, PATCH: download, DELETE: download };
}

async function paramsOf(context: HandlerContext | undefined): Promise<RouteParams> {
  return (await context?.params) ?? {};
}

/**
 * The route param a factory reads its file from. A route whose folder has no segment of that
 * name (`app/media/route.ts` instead of `app/media/[...path]/route.ts`, or a `param` naming
 * another segment) is set up wrong, and says so at its first request rather than answering
 * every request 404.
 */
export function routeParam(
  params: RouteParams,
  param: string,
  factory: string,
  { segment = `[...${param}]`, option = 'param' }: { segment?: string; option?: string } = {},
): string | string[] | undefined {
  if (!Object.hasOwn(params, param)) {
    const names = Object.keys(params);
    throw new ConfigurationError(
      `${factory}: the route has no ${segment} segment: put route.ts in a folder named ${segment}, or set ${option} to one of its segments`,
      { detail: names.length ? `its segments: ${names.join(', ')}` : 'it has no dynamic segment' },
    );
  }
  return params[param];
}
