import { ConfigurationError, HttpError } from '../errors';
import { signedLength } from '../engine/handoff';
import type { Source } from '../engine/source';
import { selectEncoding } from '../http/accept-encoding';
import { toEntityTag, formatEntityTag } from '../http/etag';

/** A content-coding the kit serves from a precompressed sibling file. */
export type PrecompressedEncoding = 'br' | 'gzip';

/** The file beside `name` that holds it in each coding. */
export const PRECOMPRESSED_SUFFIX: Readonly<Record<PrecompressedEncoding, string>> = { br: '.br', gzip: '.gz' };

/**
 * Serve `name.br` / `name.gz` beside a file `name` to a client whose `Accept-Encoding` takes it:
 * - `true`: Brotli, then gzip;
 * - a list: those codings, best first (`['gzip']`);
 * - `{ encodings, stale }`: `stale: 'serve'` also sends a sibling older than its original, which
 *   is otherwise taken for a leftover of an earlier version and ignored.
 */
export type PrecompressedOption =
  | boolean
  | readonly PrecompressedEncoding[]
  | { encodings?: readonly PrecompressedEncoding[]; stale?: 'ignore' | 'serve' };

export interface ResolvedPrecompressed {
  encodings: readonly PrecompressedEncoding[];
  serveStale: boolean;
}

const ENCODINGS: readonly PrecompressedEncoding[] = ['br', 'gzip'];

/** Checks the option once, when the route module loads; `undefined` when it is off. */
export function resolvePrecompressed(value: PrecompressedOption | undefined, factory: string): ResolvedPrecompressed | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return { encodings: ENCODINGS, serveStale: false };
  if (typeof value !== 'object' || value === null) {
    throw new ConfigurationError(`${factory}: precompressed must be true, a list of codings or { encodings, stale }, got ${JSON.stringify(value)}`);
  }
  const { encodings = ENCODINGS, stale = 'ignore' } = Array.isArray(value)
    ? { encodings: value as readonly PrecompressedEncoding[] }
    : (value as Exclude<PrecompressedOption, boolean | readonly PrecompressedEncoding[]>);
  if (
    !Array.isArray(encodings) ||
    encodings.length === 0 ||
    encodings.some((encoding) => !ENCODINGS.includes(encoding)) ||
    new Set(encodings).size !== encodings.length
  ) {
    throw new ConfigurationError(`${factory}: precompressed must be true, or a list of 'br' and 'gzip', got ${JSON.stringify(value)}`);
  }
  if (stale !== 'ignore' && stale !== 'serve') {
    throw new ConfigurationError(`${factory}: precompressed.stale must be 'ignore' or 'serve', got ${JSON.stringify(stale)}`);
  }
  return { encodings: [...encodings], serveStale: stale === 'serve' };
}

/**
 * Whether an answer with a `Content-Encoding` reaches the client with it. Next 16 drops the
 * field from route-handler responses under `next start` (its send-response skips it), so a
 * variant would arrive as compressed bytes the client takes for the file itself. The kit's own
 * server restores it; that server is running in this process exactly when the engine signs
 * lengths for it.
 */
export function contentEncodingReachesClient(): boolean {
  return signedLength(0) !== undefined;
}

/**
 * The representation of `original` to send for `request`: a precompressed sibling the request's
 * Accept-Encoding prefers (RFC 9110 §12.5.3), or `original` itself, either way marked as varying
 * by Accept-Encoding.
 *
 * A variant keeps the original's name, type and charset, carries its own length, dates and
 * bytes (so Range, If-Range and 304 apply to the encoded bytes), and an ETag of its own: the
 * sibling's tag with the coding appended, which no other variant of the file can share. Its
 * digest is its own or none, never the original's. `findSibling` looks up `name + suffix` and
 * gives `undefined` when there is none. A file that already has a coding, or is itself a
 * `.br` / `.gz`, is sent as it is.
 */
export async function negotiatePrecompressed(
  request: Request,
  original: Source,
  settings: ResolvedPrecompressed | undefined,
  findSibling: (suffix: string) => Promise<Source | undefined>,
): Promise<Source> {
  if (!settings || original.encoding || original.answered || !contentEncodingReachesClient()) return original;
  const name = original.name ?? '';
  if (Object.values(PRECOMPRESSED_SUFFIX).some((suffix) => name.toLowerCase().endsWith(suffix))) return original;
  const field = request.headers.get('accept-encoding');
  const vary = [...(original.vary ?? []), 'accept-encoding'];
  let offered = settings.encodings;
  for (;;) {
    const chosen = selectEncoding(field, offered) as PrecompressedEncoding | 'identity' | undefined;
    if (chosen === undefined || chosen === 'identity') return { ...original, vary };
    const sibling = await findSibling(PRECOMPRESSED_SUFFIX[chosen]);
    if (sibling && (settings.serveStale || !isStale(sibling, original))) {
      await original.close?.();
      return variantOf(original, sibling, chosen, vary);
    }
    await sibling?.close?.();
    offered = offered.filter((encoding) => encoding !== chosen);
  }
}

/** A sibling written before its original was last changed describes an older version. */
function isStale(sibling: Source, original: Source): boolean {
  const made = sibling.lastModified?.getTime();
  const changed = original.lastModified?.getTime();
  if (changed === undefined) return false;
  return made === undefined || made < changed;
}

function variantOf(original: Source, sibling: Source, encoding: PrecompressedEncoding, vary: readonly string[]): Source {
  const tag = sibling.etag === undefined ? undefined : toEntityTag(sibling.etag);
  return {
    ...sibling,
    name: original.name,
    contentType: original.contentType,
    charset: original.charset,
    encoding,
    etag: tag && formatEntityTag({ weak: tag.weak, opaque: `${tag.opaque}-${encoding}` }),
    vary,
  };
}

/** `lookup` with a missing file as `undefined`; every other failure is thrown on. */
export async function ifFound(lookup: () => Promise<Source>): Promise<Source | undefined> {
  try {
    return await lookup();
  } catch (error) {
    if (error instanceof HttpError && error.status === 404) return undefined;
    throw error;
  }
}
