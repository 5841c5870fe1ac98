import { describe, expect, it } from 'vitest';
import { POST } from './route';

/** A streamed body (no Content-Length) of `total` bytes of JSON whitespace; counts what was pulled. */
function streamed(total: number): { request: Request; pulled: () => number } {
  const chunk = new Uint8Array(64 * 1024).fill(0x20);
  let pulled = 0;
  const body = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (pulled >= total) return controller.close();
        pulled += chunk.byteLength;
        controller.enqueue(chunk);
      },
    },
    { highWaterMark: 0 },
  );
  const init = { method: 'POST', body, duplex: 'half', headers: { 'content-type': 'application/json' } } as RequestInit;
  return { request: new Request('http://x/api/signed-links', init), pulled: () => pulled };
}

describe('POST /api/signed-links', () => {
  it('answers 413 to 24 MiB of JSON after reading no more than a chunk past its 4 KiB limit', async () => {
    const { request, pulled } = streamed(24 * 1024 * 1024);
    const response = await POST(request);
    expect(response.status).toBe(413);
    expect(pulled()).toBeLessThanOrEqual(2 * 64 * 1024);
  });

  it('answers 413 from a declared Content-Length without reading the body', async () => {
    const declared = new Request('http://x/api/signed-links', {
      method: 'POST',
      body: new Uint8Array(8),
      headers: { 'content-type': 'application/json', 'content-length': String(24 * 1024 * 1024) },
    });
    expect((await POST(declared)).status).toBe(413);
    expect(declared.bodyUsed).toBe(false);
  });

  it('answers 400 to a small body that is not JSON', async () => {
    const response = await POST(new Request('http://x/api/signed-links', { method: 'POST', body: '{' }));
    expect(response.status).toBe(400);
  });
});
