import { afterEach, describe, expect, it, vi } from 'vitest';
import { virtualDownload } from '../factories/virtual-download';

// Without the kit's server Next 16 drops Content-Encoding: the engine says so once, in the log.

afterEach(() => {
  vi.restoreAllMocks();
});

describe('a stored Content-Encoding without the kit server', () => {
  it('is still on the Response, and warns once per process that Next will drop it', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const { GET, HEAD } = virtualDownload({ file: { name: 'a.txt', contentType: 'text/plain', encoding: 'gzip', content: new Uint8Array([31, 139, 8, 0]) } });
    for (let i = 0; i < 3; i++) {
      const response = await (i === 1 ? HEAD : GET)(new Request('http://x/a.txt', { method: i === 1 ? 'HEAD' : 'GET' }), { params: {} });
      expect(response.headers.get('content-encoding')).toBe('gzip');
      expect(response.headers.has('x-downloadview-encoding')).toBe(false);
    }
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]![0])).toMatch(/Content-Encoding "gzip" .*Next 16 drops/);
  });
});
