import { describe, expect, it, vi } from 'vitest';
import { resolveOptions, type RouteParams } from '../engine/options';
import type { Source } from '../engine/source';
import { createHandlers } from './handlers';

function fakeSource(): { source: Source; opened: number } {
  const state = {
    opened: 0,
    source: {
      name: 'a.txt',
      size: 3,
      etag: 'v1',
      open: () => {
        state.opened++;
        return new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(new TextEncoder().encode('abc'));
            controller.close();
          },
        });
      },
    } satisfies Source,
  };
  return state;
}

function handlers() {
  const state = fakeSource();
  const load = vi.fn((_request: Request, _params: RouteParams) => state.source);
  return { state, load, ...createHandlers(load, resolveOptions({}, 'test')) };
}

describe('createHandlers(load, options)', () => {
  it('returns a handler for GET, HEAD, OPTIONS, POST, PUT, PATCH and DELETE', () => {
    const { GET, HEAD, OPTIONS, POST, PUT, PATCH, DELETE } = handlers();
    for (const handler of [GET, HEAD, OPTIONS, POST, PUT, PATCH, DELETE]) expect(handler).toBeTypeOf('function');
  });

  describe('GET', () => {
    it('awaits params given as a Promise, as Next 15+ passes them', async () => {
      const h = handlers();
      const response = await h.GET(new Request('http://x/a.txt'), { params: Promise.resolve({ path: ['a.txt'] }) });
      expect(response.status).toBe(200);
      expect(await response.text()).toBe('abc');
      expect(h.load).toHaveBeenCalledWith(expect.any(Request), { path: ['a.txt'] });
    });

    it('takes params given as a plain object', async () => {
      const h = handlers();
      await h.GET(new Request('http://x/a.txt'), { params: { id: '7' } });
      expect(h.load).toHaveBeenCalledWith(expect.any(Request), { id: '7' });
    });

    it('passes empty params when called without a context', async () => {
      const h = handlers();
      const response = await h.GET(new Request('http://x/a.txt'));
      expect(response.status).toBe(200);
      expect(h.load).toHaveBeenCalledWith(expect.any(Request), {});
    });

    it('passes the very request to load', async () => {
      const h = handlers();
      const request = new Request('http://x/a.txt');
      await h.GET(request);
      expect(h.load.mock.calls[0]![0]).toBe(request);
    });
  });

  describe('HEAD', () => {
    it('answers the headers with no body and opens nothing', async () => {
      const h = handlers();
      const response = await h.HEAD(new Request('http://x/a.txt', { method: 'HEAD' }));
      expect(response.status).toBe(200);
      expect(response.headers.get('content-length')).toBe('3');
      expect(await response.text()).toBe('');
      expect(h.state.opened).toBe(0);
    });
  });

  describe('OPTIONS', () => {
    it('answers 204 with Allow: GET, HEAD, OPTIONS and loads nothing', async () => {
      const h = handlers();
      const response = await h.OPTIONS(new Request('http://x/a.txt', { method: 'OPTIONS' }));
      expect(response.status).toBe(204);
      expect(response.headers.get('allow')).toBe('GET, HEAD, OPTIONS');
      expect(await response.text()).toBe('');
      expect(h.load).not.toHaveBeenCalled();
    });
  });

  describe('other methods', () => {
    it.each(['POST', 'PUT', 'PATCH', 'DELETE'] as const)('answers %s with 405 and Allow: GET, HEAD', async (method) => {
      const h = handlers();
      const response = await h[method](new Request('http://x/a.txt', { method }));
      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe('GET, HEAD');
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(h.load).not.toHaveBeenCalled();
      expect(h.state.opened).toBe(0);
    });

    it('answers 405 when the GET handler is mounted for another method', async () => {
      const h = handlers();
      const response = await h.GET(new Request('http://x/a.txt', { method: 'POST', body: 'x' }));
      expect(response.status).toBe(405);
    });
  });
});
