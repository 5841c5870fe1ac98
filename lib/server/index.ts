/**
 * `next-downloadview/server`: the kit's server, which hosts a built Next app like `next start`
 * and puts back the `Content-Length` Next 16 drops from route handlers. The package's
 * `next-downloadview start` command runs it.
 *
 * @module
 */
export { startServer, type StartServerOptions } from './start-server';
export { restoreContentLength } from './content-length';
export { enableLengthHeader } from '../engine/length-handoff';
export { superviseWorkers, followPrimary, parseWorkerCount, MAX_WORKERS, CONFIGURATION_EXIT_CODE, type SuperviseOptions } from './workers';
