import net from 'node:net';
import { networkInterfaces } from 'node:os';
import { describe, expect, it } from 'vitest';
import { presignUrl, signHeaders } from '../lib/s3/sigv4';
import { startS3, verifySignature } from '../lib/s3/s3-server.test-support.mjs';

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

describe('startS3 (the test S3 server)', () => {
  /** Whether a TCP connection to host:port is accepted (true) or refused (false). */
  function reachable(host: string, port: number): Promise<boolean> {
    return new Promise((resolve) => {
      const socket = net.connect({ host, port, timeout: 2_000 });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('timeout', () => {
        socket.destroy();
        resolve(false);
      });
      socket.once('error', () => resolve(false));
    });
  }

  function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
      const probe = net.createServer();
      probe.once('error', reject);
      probe.listen(0, '127.0.0.1', () => {
        const port = (probe.address() as net.AddressInfo).port;
        probe.close(() => resolve(port));
      });
    });
  }

  it('answers on loopback only: neither the gate nor the raw store behind it is reachable on another address', async () => {
    const port = await freePort();
    const server = await startS3({ port, buckets: ['reach'], gate: true });
    try {
      const store = port + 1;
      expect(await reachable('127.0.0.1', port)).toBe(true);
      expect(await reachable('127.0.0.1', store)).toBe(true);
      // A socket bound to 0.0.0.0 answers every 127/8 address and every interface's own address.
      const others = [
        '127.0.0.2',
        ...Object.values(networkInterfaces())
          .flat()
          .filter((entry) => entry !== undefined && entry.family === 'IPv4' && !entry.internal)
          .map((entry) => entry!.address),
      ];
      for (const address of others) {
        expect({ address, gate: await reachable(address, port) }).toEqual({ address, gate: false });
        expect({ address, store: await reachable(address, store) }).toEqual({ address, store: false });
      }
    } finally {
      await server.stop();
    }
  }, 60_000);
});
