/**
 * `next-downloadview/server`: the kit's server, which hosts a built Next app like `next start`,
 * puts back the `Content-Length` and `Content-Encoding` Next 16 drops from route handlers, and
 * sends file bodies itself. The package's `next-downloadview start` command runs it;
 * `HandoffResponse` gives the same to a server of one's own.
 *
 * @module
 */
export { startServer, type StartServerOptions } from './start-server';
export { HandoffResponse } from './handoff-response';
export { superviseWorkers, followPrimary, parseWorkerCount, MAX_WORKERS, CONFIGURATION_EXIT_CODE, type SuperviseOptions } from './workers';
