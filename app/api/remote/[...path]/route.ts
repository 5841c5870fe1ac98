import { httpDownload } from 'next-downloadview';
import { upstreamUrl } from '@/app/_lib/demo';

/**
 * A file fetched from UPSTREAM_URL + path and streamed through (default: this demo's own
 * /api/storage/, so the proxy can be tried without another server).
 */
export const { GET, HEAD, OPTIONS, POST, PUT, PATCH, DELETE } = httpDownload({ base: upstreamUrl() });
