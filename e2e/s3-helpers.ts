import path from 'node:path';
import { e2eVarDir } from './helpers';

// The demo on S3 (e2e/s3.spec.ts): fauxqs behind the signature gate (scripts/s3.mjs --gate) on
// 127.0.0.1:4790 (fauxqs itself on 4791), and a second server of the same build on 3101 whose
// files table lives in that bucket and whose /api/files/{id} redirects to presigned URLs.
export const s3Port = 4790;
export const s3Endpoint = `http://127.0.0.1:${s3Port}`;
export const s3Bucket = 'e2e-files';
export const s3Credentials = { accessKeyId: 'test-key', secretAccessKey: 'test-secret' };
export const s3DemoPort = 3101;
export const s3DemoBaseURL = `http://127.0.0.1:${s3DemoPort}`;
/** Media folder and database of the S3 demo server, apart from the main e2e server's. */
export const s3DemoVarDir = path.join(path.dirname(e2eVarDir), 'e2e-s3-var');
