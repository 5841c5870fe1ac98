/**
 * `next-downloadview/events`: learn what happened to each download (how many bytes went out,
 * whether the client stayed), for audit logs, download counters, quotas, or deleting a file once
 * it was sent. Set one listener for the process with `configureDownloadEvents`, or one per route
 * with the factories' `onDownload` option.
 *
 * @example
 * // instrumentation.ts
 * import { configureDownloadEvents } from 'next-downloadview/events';
 * export function register() {
 *   configureDownloadEvents(({ route, outcome, bytesSent, expectedBytes }) => {
 *     console.log(`${route}: ${outcome}, ${bytesSent} of ${expectedBytes ?? '?'} bytes`);
 *   });
 * }
 *
 * @module
 */
export {
  configureDownloadEvents,
  type DownloadEvent,
  type DownloadListener,
  type DownloadOutcome,
} from './download-event';
