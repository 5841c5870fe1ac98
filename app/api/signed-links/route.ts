import { errorResponse, HttpError } from 'next-downloadview';
import { signUrl } from 'next-downloadview/signing';
import { readJson } from 'next-downloadview/http';
import { downloadSecret, media } from '@/app/_lib/demo';

export const dynamic = 'force-dynamic';

/** Longest a demo link may live: one day. */
const MAX_EXPIRES_IN = 24 * 60 * 60;

/** A path and a number: a few KB is plenty, and nothing larger is read (413). */
const MAX_BODY_BYTES = 4 * 1024;

/**
 * Mints a signed link to a media file: JSON `{ "path": "docs/guide.md", "expiresIn": 60 }`
 * (seconds, 1 to 86400, default 300) -> 201 `{ url, expiresAt }`; a body over 4 KiB -> 413. The demo has no users, so
 * anyone who can reach it can mint links; a real app puts this behind its own login.
 */
export async function POST(request: Request): Promise<Response> {
  try {
    const body = await readJson(request, { maxBytes: MAX_BODY_BYTES });
    const { path, expiresIn = 300 } = (body ?? {}) as { path?: unknown; expiresIn?: unknown };
    if (typeof path !== 'string' || path === '') throw new HttpError(400, 'path must be the name of a media file');
    if (typeof expiresIn !== 'number' || !Number.isInteger(expiresIn) || expiresIn < 1 || expiresIn > MAX_EXPIRES_IN) {
      throw new HttpError(400, `expiresIn must be a whole number of seconds from 1 to ${MAX_EXPIRES_IN}`);
    }
    // Only existing files get links (a refused or missing name answers 400/404 here).
    await media.stat(path);
    const encoded = path.split('/').map(encodeURIComponent).join('/');
    const url = signUrl(`/api/signed/${encoded}`, { secret: downloadSecret(), expiresIn });
    const expiresAt = new Date(Date.now() + expiresIn * 1000).toISOString();
    return Response.json({ url, expiresAt }, { status: 201, headers: { 'cache-control': 'no-store' } });
  } catch (error) {
    return errorResponse(error);
  }
}
