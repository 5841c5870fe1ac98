/**
 * `next-downloadview/offload`: hand the bytes to the web server in front (nginx
 * X-Accel-Redirect, Apache or lighttpd X-Sendfile) once the app has checked the request.
 *
 * @example
 * // instrumentation.ts
 * import { configureOffload } from 'next-downloadview/offload';
 * export function register() {
 *   configureOffload([{ backend: 'nginx', source: '/srv/media', destination: '/_protected/' }]);
 * }
 *
 * @module
 */
export { configureOffload } from './configure-offload';
export { encodePathSegment, nginxHeaders, sendfileHeaders } from './backends';
export type {
  ApacheOffloadOptions,
  ApacheOffloadRule,
  LighttpdOffloadRule,
  NginxOffloadOptions,
  NginxOffloadRule,
  OffloadBackend,
  OffloadRule,
  OffloadSource,
} from './rules';
// The Content-Security-Policy active content (HTML, SVG, XML) is sent with: a web server that
// serves offloaded files must pass it on.
export { ACTIVE_CONTENT_POLICY } from '../engine/decide';
