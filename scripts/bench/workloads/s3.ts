/**
 * The S3 rows: the demo's files route on an S3Storage, streamed through the kit, against a GET
 * straight from the S3 server, and the redirect (307 to a presigned URL) the kit answers
 * instead. A load tool does not follow redirects: the redirect row is what the app spends per
 * download (the bytes then come from the store, as in the direct row).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fetchAnswer } from '../clients';
import { formatSize } from '../config';
import { cachedFile, readSlice, warm } from '../files';
import { type Bench, type Workload } from '../bench';
import { type Row } from '../report';
import { freePort, startKit, startS3Store, type RunningServer } from '../servers';
import { runLoadWorkload, type Contender, type TestFile } from '../measure';

/** Last in the list: a second kit server and the S3 server start only now, and leave the others' numbers alone. */
export const s3: Workload = {
  id: 's3',
  async run(bench) {
    return { rows: await runS3Workloads(bench) };
  },
};

async function runS3Workloads(options: Bench): Promise<Row[]> {
  const { ctx, config } = options;
  let store: RunningServer;
  try {
    store = await startS3Store(options.root, await freePort(), options.quiet);
  } catch (error) {
    ctx.skip(`s3: the S3 server (scripts/s3.mjs) did not start: ${(error as Error).message.split('\n')[0]}`);
    return [];
  }
  ctx.log(`S3 server (fauxqs) on ${store.base}, pid ${store.pid}`);
  const kit = await startKit({
    root: options.root,
    mediaRoot: path.join(options.tempDir, 's3-media'),
    databaseUrl: path.join(options.tempDir, 's3.db'),
    quiet: options.quiet,
    name: 'kit-s3',
    env: {
      FILES_STORAGE: 's3://bench/files',
      FILES_DELIVERY: 'redirect',
      AWS_ACCESS_KEY_ID: 'bench',
      AWS_SECRET_ACCESS_KEY: 'bench-secret',
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL_S3: store.base,
    },
  });
  ctx.log(`kit on S3 on ${kit.base}, pid ${kit.pid}`);

  const largeSize = config.mode === 'smoke' ? 2 * 1024 * 1024 : 64 * 1024 * 1024;
  const largePath = await cachedFile(options.cacheDir, largeSize);
  const large: TestFile = {
    role: 'big',
    size: largeSize,
    name: 's3/large.bin',
    path: largePath,
    sha256: await warm(largePath),
    head: await readSlice(largePath, 0, 64 * 1024 - 1),
  };
  // Each file uploaded through the demo (so into the bucket); its key read from the redirect.
  const where = new Map<TestFile, { id: number; key: string }>();
  for (const file of [options.files.medium, large]) {
    const form = new FormData();
    form.append('file', new Blob([await readFile(file.path)]), `s3-${file.role}.bin`);
    const response = await fetch(`${kit.base}/api/files`, { method: 'POST', body: form });
    if (response.status !== 201) throw new Error(`upload to the S3 kit answered ${response.status}: ${await response.text()}`);
    const { id } = (await response.json()) as { id: number };
    const redirect = await fetchAnswer(`${kit.base}/api/files/${id}`);
    const location = redirect.headers.location;
    if (redirect.status !== 307 || typeof location !== 'string') throw new Error(`GET /api/files/${id} on S3 answered ${redirect.status}, expected 307`);
    where.set(file, { id, key: new URL(location).pathname });
  }

  const contenders: Contender[] = [
    { name: 's3 streamed', kit: true, server: kit, url: (f) => `${kit.base}/api/files/${where.get(f)!.id}?stream` },
    // fauxqs checks no signature: the object's plain URL is the store's own cost.
    { name: 's3 direct', server: store, url: (f) => `${store.base}${where.get(f)!.key}` },
  ];
  const redirect: Contender = { name: 's3 redirect (307)', kit: true, server: kit, url: (f) => `${kit.base}/api/files/${where.get(f)!.id}` };
  const rows: Row[] = [];
  const medium = options.files.medium;
  rows.push(
    ...(await runLoadWorkload(ctx, {
      id: 's3-medium', title: `S3 ${formatSize(medium.size)} x16`, unit: 'req/s', connections: 16, seconds: config.seconds.medium,
      entrants: [
        ...contenders.map((contender) => ({ contender, url: contender.url(medium)!, check: { kind: 'whole' as const, file: medium } })),
        { contender: redirect, url: redirect.url(medium)!, check: { kind: 'status' as const, status: 307, bytes: 0 } },
      ],
    })),
  );
  rows.push(
    ...(await runLoadWorkload(ctx, {
      id: 's3-large', title: `S3 ${formatSize(large.size)} x1`, unit: 'MB/s', connections: 1, seconds: config.seconds.big,
      entrants: contenders.map((contender) => ({ contender, url: contender.url(large)!, check: { kind: 'whole' as const, file: large } })),
    })),
  );
  return rows;
}
