import { describe, expect, it } from 'vitest';
import { presignUrl, signHeaders } from '../lib/s3/sigv4';
import { verifySignature } from './s3.mjs';

// The signature gate in front of fauxqs must refuse what S3 refuses, or the tests that go
// through it prove nothing about our signatures.
const credentials = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };
const DOCUMENTED =
  '/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request' +
  '&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host' +
  '&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404';
const host = { host: 'examplebucket.s3.amazonaws.com' };

describe('verifySignature (the S3 signature gate)', () => {
  it("accepts AWS's documented presigned URL while it is valid, and refuses it after", () => {
    expect(verifySignature({ method: 'GET', url: DOCUMENTED, headers: host, credentials, now: new Date('2013-05-24T12:00:00Z') })).toBeUndefined();
    expect(verifySignature({ method: 'GET', url: DOCUMENTED, headers: host, credentials, now: new Date('2013-05-25T00:00:01Z') })).toBe('AccessDenied');
  });

  it('refuses a presigned URL with a changed parameter, method, key or secret', () => {
    const now = new Date('2013-05-24T12:00:00Z');
    expect(verifySignature({ method: 'GET', url: `${DOCUMENTED}&response-content-type=text%2Fhtml`, headers: host, credentials, now })).toBe('SignatureDoesNotMatch');
    expect(verifySignature({ method: 'HEAD', url: DOCUMENTED, headers: host, credentials, now })).toBe('SignatureDoesNotMatch');
    expect(verifySignature({ method: 'GET', url: DOCUMENTED.replace('/test.txt', '/other.txt'), headers: host, credentials, now })).toBe('SignatureDoesNotMatch');
    expect(verifySignature({ method: 'GET', url: DOCUMENTED, headers: host, credentials: { ...credentials, secretAccessKey: 'x' }, now })).toBe('SignatureDoesNotMatch');
  });

  it('accepts what presignUrl and signHeaders make, with response-* parameters and non-ASCII keys', () => {
    const url = new URL(presignUrl({ method: 'GET', url: new URL("http://127.0.0.1:4790/b/dir/été (1)'s.txt?response-content-disposition=attachment%3B%20filename%2A%3DUTF-8%27%27%C3%A9t%C3%A9"), region: 'us-east-1', credentials, expiresIn: 60 }));
    expect(verifySignature({ method: 'GET', url: url.pathname + url.search, headers: { host: url.host }, credentials })).toBeUndefined();
    const target = new URL('http://127.0.0.1:4790/b/k%20ey?partNumber=2&uploadId=a%2Bb');
    const headers = signHeaders({ method: 'PUT', url: target, headers: { 'if-none-match': '*' }, payloadHash: 'UNSIGNED-PAYLOAD', region: 'eu-west-3', credentials });
    const sent = { ...headers, host: target.host };
    expect(verifySignature({ method: 'PUT', url: target.pathname + target.search, headers: sent, credentials })).toBeUndefined();
    expect(verifySignature({ method: 'PUT', url: target.pathname + target.search, headers: { ...sent, 'if-none-match': 'x' }, credentials })).toBe('SignatureDoesNotMatch');
  });
});
