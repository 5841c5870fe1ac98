/**
 * Helpers the package's tests share (test support: never built or shipped). Each test file used
 * to carry its own copy of these.
 */

/** Every chunk of a web stream, in order. */
export async function readChunks(stream: ReadableStream<Uint8Array>): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

/** All the bytes of a web stream. */
export async function readBytes(stream: ReadableStream<Uint8Array>): Promise<Buffer> {
  return Buffer.concat(await readChunks(stream));
}

/** All the bytes of a web stream, as UTF-8 text. */
export async function readText(stream: ReadableStream<Uint8Array>): Promise<string> {
  return (await readBytes(stream)).toString('utf8');
}

/** A Response's body as UTF-8 text, whatever charset its Content-Type names. */
export async function responseText(response: Response): Promise<string> {
  return new TextDecoder().decode(await response.arrayBuffer());
}

/** What Next passes a route handler beside the request: the route's params, as a promise. */
export function routeContext<P>(params: P): { params: Promise<P> } {
  return { params: Promise.resolve(params) };
}

/** The context of a `[...path]` route asked for these segments. */
export function pathContext(segments: string[]): { params: Promise<{ path: string[] }> } {
  return routeContext({ path: segments });
}
