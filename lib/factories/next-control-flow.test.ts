import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { forbidden, notFound, permanentRedirect, redirect, unauthorized } from 'next/navigation';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { errorResponse, withErrorResponses } from '../http/http-error';
import { isNextControlFlow } from '../errors';
import { FileSystemStorage } from '../storage/file-system-storage';
import { uploadRoute } from '../upload/upload-route';
import { httpDownload } from './http-download';
import { objectDownload } from './object-download';
import { pathDownload } from './path-download';
import { sendFile } from './send-file';
import { sourceDownload } from './source-download';
import { storageDownload } from './storage-download';
import { virtualDownload } from './virtual-download';
import type { DownloadHandlers } from './handlers';

// What Next throws from `redirect()`, `notFound()`, `forbidden()` and `unauthorized()` (the real
// functions of next/navigation) must leave the kit's handlers untouched, so that Next answers it
// as in a plain route: a 307 with Location, its own 404 page, ...

let root: string;
const media = () => new FileSystemStorage(root);

beforeAll(async () => {
  // What `experimental.authInterrupts` in next.config sets, without which forbidden() and
  // unauthorized() throw an ordinary error instead.
  vi.stubEnv('__NEXT_EXPERIMENTAL_AUTH_INTERRUPTS', 'true');
  root = await mkdtemp(path.join(os.tmpdir(), 'control-flow-'));
  await mkdir(path.join(root, 'docs'));
  await writeFile(path.join(root, 'docs', 'a.txt'), 'hello\n');
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await rm(root, { recursive: true, force: true });
});

/** What the handler threw; fails when it answered. */
async function thrown(answer: Promise<Response>): Promise<{ digest?: string }> {
  try {
    const response = await answer;
    throw new Error(`expected Next's control flow to be thrown, got a ${response.status} answer`);
  } catch (error) {
    return error as { digest?: string };
  }
}

const request = (url = 'http://test/files/docs/a.txt') => new Request(url);
const params = { path: ['docs', 'a.txt'], id: '1' };
const context = { params: Promise.resolve(params) };

const toLogin = () => redirect('/login');

describe("Next's control flow thrown in a hook", () => {
  const factories: [string, (hooks: { authorize?: () => never; load?: () => never }) => DownloadHandlers][] = [
    ['pathDownload', ({ authorize, load }) => pathDownload({ root, authorize, path: load })],
    ['storageDownload', ({ authorize, load }) => storageDownload({ storage: media(), authorize, path: load })],
    ['objectDownload', ({ authorize, load }) => objectDownload({ storage: media(), authorize, getObject: load ?? (() => ({ file: 'docs/a.txt' })) })],
    ['httpDownload', ({ authorize, load }) => httpDownload({ base: 'http://127.0.0.1:9/files/', authorize, getUrl: load })],
    ['virtualDownload', ({ authorize, load }) => virtualDownload({ authorize, file: load ?? { content: 'x' } })],
    ['sourceDownload', ({ authorize, load }) => sourceDownload({ authorize, source: load ?? (() => ({ size: 1, open: () => new Response('x').body! })) })],
  ];

  describe.each(factories)('%s', (_name, make) => {
    it('passes redirect() in authorize through, with its 307 and Location', async () => {
      const error = await thrown(make({ authorize: toLogin }).GET(request(), context));
      expect(error.digest).toMatch(/^NEXT_REDIRECT;replace;\/login;307;/);
    });

    it('passes notFound() in the lookup hook through', async () => {
      const error = await thrown(make({ load: () => notFound() }).GET(request(), context));
      expect(error.digest).toBe('NEXT_HTTP_ERROR_FALLBACK;404');
    });

    it('passes them through on HEAD as on GET', async () => {
      const error = await thrown(make({ authorize: () => forbidden() }).HEAD(request(), context));
      expect(error.digest).toBe('NEXT_HTTP_ERROR_FALLBACK;403');
    });
  });

  it('passes unauthorized() and permanentRedirect() through', async () => {
    const unauthorizedError = await thrown(pathDownload({ root, authorize: () => unauthorized() }).GET(request(), context));
    expect(unauthorizedError.digest).toBe('NEXT_HTTP_ERROR_FALLBACK;401');
    const moved = await thrown(pathDownload({ root, authorize: () => permanentRedirect('/new') }).GET(request(), context));
    expect(moved.digest).toMatch(/^NEXT_REDIRECT;replace;\/new;308;/);
  });

  it('passes notFound() in the route\'s own notFound hook through', async () => {
    const { GET } = pathDownload({ root, notFound: () => notFound() });
    const error = await thrown(GET(request('http://test/files/missing.txt'), { params: Promise.resolve({ path: ['missing.txt'] }) }));
    expect(error.digest).toBe('NEXT_HTTP_ERROR_FALLBACK;404');
  });

  it('passes a redirect thrown by an async hook after an await through', async () => {
    const { GET } = objectDownload({
      storage: media(),
      getObject: async () => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        redirect('/elsewhere');
      },
    });
    expect((await thrown(GET(request(), context))).digest).toMatch(/^NEXT_REDIRECT;replace;\/elsewhere;/);
  });

  it('passes it through sendFile inside a handler of your own', async () => {
    const error = await thrown(sendFile(request(), path.join(root, 'docs', 'a.txt'), { authorize: toLogin }));
    expect(error.digest).toMatch(/^NEXT_REDIRECT;/);
  });

  it('passes it through uploadRoute, from authorize and from onUpload (the file stays stored)', async () => {
    const storage = media();
    const form = () => {
      const body = new FormData();
      body.set('file', new File(['uploaded'], 'u.txt'));
      return new Request('http://test/uploads', { method: 'POST', body });
    };
    const guarded = uploadRoute({ storage, maxBytes: 100, authorize: toLogin });
    expect((await thrown(guarded.POST(form()))).digest).toMatch(/^NEXT_REDIRECT;/);

    let stored = '';
    const after = uploadRoute({
      storage,
      maxBytes: 100,
      onUpload: (upload) => {
        stored = upload.stored.name;
        redirect('/files');
      },
    });
    expect((await thrown(after.POST(form()))).digest).toMatch(/^NEXT_REDIRECT;replace;\/files;/);
    expect(await storage.exists(stored)).toBe(true);
  });

  it('answers an ordinary error of a hook itself, logged, as a 500', async () => {
    const log = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const { GET } = pathDownload({ root, authorize: () => { throw new Error('database down'); } });
    const response = await GET(request(), context);
    expect(response.status).toBe(500);
    expect(await response.text()).not.toContain('database');
    expect(log).toHaveBeenCalled();
    log.mockRestore();
  });
});

describe('errorResponse and withErrorResponses', () => {
  it('errorResponse throws Next\'s control flow on instead of answering it', () => {
    let error: unknown;
    try {
      redirect('/x');
    } catch (caught) {
      error = caught;
    }
    expect(isNextControlFlow(error)).toBe(true);
    expect(() => errorResponse(error)).toThrow(error as Error);
  });

  it('withErrorResponses answers an HttpError with its status and lets redirect() through', async () => {
    const { HttpError } = await import('../errors');
    const refusing = withErrorResponses(async () => {
      throw new HttpError(415, 'Expected text/csv');
    });
    const response = await refusing();
    expect(response.status).toBe(415);
    expect(await response.text()).toBe('Expected text/csv\n');
    const redirecting = withErrorResponses(async () => redirect('/login'));
    expect((await thrown(redirecting())).digest).toMatch(/^NEXT_REDIRECT;/);
  });
});

describe('isNextControlFlow', () => {
  const digest = (value: string) => Object.assign(new Error('x'), { digest: value });
  it.each([
    ['a redirect', digest('NEXT_REDIRECT;push;/a;303;'), true],
    ['an HTTP fallback', digest('NEXT_HTTP_ERROR_FALLBACK;404'), true],
    ['dynamic server usage', digest('DYNAMIC_SERVER_USAGE'), true],
    ['a prerender interrupted', digest('NEXT_PRERENDER_INTERRUPTED'), true],
    ['a hanging promise rejection', digest('HANGING_PROMISE_REJECTION'), true],
    ['a bail-out to client rendering', digest('BAILOUT_TO_CLIENT_SIDE_RENDERING'), true],
    ["React's postpone", { $$typeof: Symbol.for('react.postpone') }, true],
    ['one wrapped as a cause', new Error('wrapped', { cause: digest('NEXT_REDIRECT;replace;/b;307;') }), true],
    ['an ordinary error', new Error('boom'), false],
    ['an error whose digest only resembles', digest('NEXT_REDIRECTED'), false],
    ['a digest that is not a string', Object.assign(new Error('x'), { digest: 42 }), false],
    ['a string', 'NEXT_REDIRECT', false],
    ['null', null, false],
  ])('says %s is %s', (_what, error, expected) => {
    expect(isNextControlFlow(error)).toBe(expected);
  });

  it('does not loop on a cause that points at itself', () => {
    const error = new Error('self') as Error & { cause?: unknown };
    error.cause = error;
    expect(isNextControlFlow(error)).toBe(false);
  });
});
