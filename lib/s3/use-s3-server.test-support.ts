import { afterAll, beforeAll } from 'vitest';
import { startS3 } from './s3-server.test-support.mjs';
import { S3Storage, type S3StorageOptions } from './s3-storage';

export const TEST_BUCKET = 'contract';
export const TEST_CREDENTIALS = { accessKeyId: 'test-key', secretAccessKey: 'test-secret' };

/**
 * A real S3-compatible server (fauxqs behind the signature gate, see ./s3-server.test-support.mjs)
 * for the tests of one file, on free ports of its own; `storage()` gives an S3Storage under a new,
 * empty prefix.
 */
export function useS3Server(): {
  endpoint: () => string;
  storage: (options?: Partial<S3StorageOptions>) => S3Storage;
  /** The credentials the gate accepts from now on (a rotation); TEST_CREDENTIALS again with no argument. */
  setCredentials: (list?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }[]) => void;
} {
  let server: Awaited<ReturnType<typeof startS3>> | undefined;
  let count = 0;
  beforeAll(async () => {
    for (let attempt = 0; !server; attempt++) {
      try {
        // Behind the signature gate: a request we sign wrongly is refused as S3 would refuse it.
        // Free ports (0), so that test files, and two copies of the suite, never collide.
        server = await startS3({ port: 0, buckets: [TEST_BUCKET], gate: true, credentials: TEST_CREDENTIALS });
      } catch (error) {
        if (attempt >= 3) throw error;
      }
    }
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
  });
  return {
    endpoint: () => server!.endpoint,
    setCredentials: (list = [TEST_CREDENTIALS]) => server!.setCredentials(list),
    storage: (options = {}) =>
      new S3Storage({
        bucket: TEST_BUCKET,
        endpoint: server!.endpoint,
        credentials: TEST_CREDENTIALS,
        prefix: `t${process.pid}-${++count}/`,
        ...options,
      }),
  };
}
