import path from 'node:path';
import { e2eVarDir } from './helpers';
import { suitePort } from './ports';

// The demo on S3 (e2e/s3.spec.ts): fauxqs behind the signature gate (scripts/s3.mjs --gate) on
// 127.0.0.1:E2E_S3_PORT (fauxqs itself on the next port), and a second server of the same build
// on E2E_S3_DEMO_PORT whose files table lives in that bucket and whose /api/files/{id} redirects
// to presigned URLs. Each port is a free one unless the variable gives it.
export const s3Port = suitePort('E2E_S3_PORT', 2);
export const s3Endpoint = `http://127.0.0.1:${s3Port}`;
export const s3Bucket = 'e2e-files';
export const s3Credentials = { accessKeyId: 'test-key', secretAccessKey: 'test-secret' };
export const s3DemoPort = suitePort('E2E_S3_DEMO_PORT');
export const s3DemoBaseURL = `http://127.0.0.1:${s3DemoPort}`;
/** Media folder and database of the S3 demo server, apart from the main e2e server's. */
export const s3DemoVarDir = path.join(path.dirname(e2eVarDir), 'e2e-s3-var');
