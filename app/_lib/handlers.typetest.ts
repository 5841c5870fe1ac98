/**
 * Type-level test, checked by `tsc` (npm run typecheck), not run: the factories' handlers must
 * satisfy the types Next gives route exports, or `next build` rejects the route.
 */
import type { NextRequest } from 'next/server';
import { objectDownload, pathDownload, virtualDownload } from 'next-downloadview';
import { FileSystemStorage } from 'next-downloadview/storage';
import * as pathRoute from '../api/path/[...path]/route';
import * as helloRoute from '../api/exports/hello-world.txt/route';

/** The shape Next 16 checks each route export against (see .next/types/validator.ts). */
type NextRouteHandler<Params> = (
  request: NextRequest,
  context: { params: Promise<Params> },
) => Promise<Response | void> | Response | void;

type NextRouteModule<Params> = Partial<
  Record<'GET' | 'HEAD' | 'OPTIONS' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', NextRouteHandler<Params>>
>;

// A catch-all route, a route with a single param, and one without params.
export const catchAll: NextRouteModule<{ path: string[] }> = pathDownload({ root: '/srv' });
export const single: NextRouteModule<{ id: string }> = pathDownload({ root: '/srv', path: (_request, params) => String(params.id) });
export const none: NextRouteModule<Record<string, never>> = virtualDownload({ file: { content: 'x' } });

// The demo's routes, against the context types `next typegen` generated for them.
export const demoPath: NextRouteHandler<{ path: string[] }> = pathRoute.GET;
export const demoPathGenerated: (request: NextRequest, context: RouteContext<'/api/path/[...path]'>) => unknown = pathRoute.HEAD;
export const demoHello: (request: NextRequest, context: RouteContext<'/api/exports/hello-world.txt'>) => unknown = helloRoute.GET;

// The check can fail: a handler that needs a param the route does not have is rejected.
// @ts-expect-error the route '/api/exports/hello-world.txt' has no `id` param
export const wrong: (request: NextRequest, context: RouteContext<'/api/exports/hello-world.txt'>) => unknown = (
  _request: Request,
  _context: { params: Promise<{ id: string }> },
) => new Response(null);

// Hooks take the route's own params, typed with the context Next generates for the route.
type DocumentParams = Awaited<RouteContext<'/api/files/[id]'>['params']>;
interface DocumentRow {
  storagePath: string;
  name: string;
  sha256: string;
}
const documents = new FileSystemStorage('/srv');
const findDocument = (id: string): DocumentRow | undefined => (id ? { storagePath: 'a', name: 'a', sha256: '0' } : undefined);
export const typedParams: NextRouteModule<DocumentParams> = objectDownload({
  storage: documents,
  getObject: (_request, { id }: DocumentParams) => findDocument(id),
  authorize: (_request, { id }) => id.length > 0,
  fields: { file: 'storagePath', basename: 'name', checksum: 'sha256' },
});

// `fields` are the row's own keys: a misspelt one fails the type check.
export const misspelt = objectDownload({
  storage: documents,
  getObject: () => findDocument('1'),
  // @ts-expect-error 'storage_path' is not a key of DocumentRow
  fields: { file: 'storage_path' },
});
