/**
 * The demo's files.zip resumed at 90% (`Range: bytes=<90%>-` with `If-Range`), against the whole
 * download: time, and the bytes the server read to answer. Every row of the demo has its CRC-32
 * (uploads and the seed store it), so the resume reads only the files it still needs, and only
 * their parts past the resume point: about a tenth of a whole download's reading.
 *
 * Bytes read are the server processes' `rchar` (/proc/<pid>/io: bytes passed by read(2) and
 * pread(2), whether from the page cache or the disk, sockets included): the request's few hundred
 * bytes of headers count too, which is noise at these sizes.
 */
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { readFile } from 'node:fs/promises';
import { type Workload } from '../bench';
import { fetchAnswer } from '../clients';
import { MB } from '../config';
import { cachedFile } from '../files';
import { settle } from '../measure';
import { median, target, type Row } from '../report';

/** Bytes the processes have read through read(2)-like calls, from /proc/<pid>/io. */
function readChars(pids: readonly number[]): number {
  let total = 0;
  for (const pid of pids) {
    try {
      const match = /^rchar:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
      if (match) total += Number(match[1]);
    } catch {
      // A worker that ended meanwhile read nothing more.
    }
  }
  return total;
}

/** A GET with these headers, read to its end: its status, body bytes and duration. */
function download(url: string, headers: Record<string, string>): Promise<{ status: number; bytes: number; ms: number }> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    let bytes = 0;
    const req = httpRequest(url, { agent: false, headers }, (res) => {
      res.on('data', (chunk: Buffer) => (bytes += chunk.length));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes, ms: performance.now() - start }));
      res.on('error', reject);
    });
    req.setTimeout(300_000, () => req.destroy(new Error(`timed out: ${url}`)));
    req.on('error', reject);
    req.end();
  });
}

export const zipResume: Workload = {
  id: 'zip-resume',
  /** Uploads enough files for an archive worth resuming, unless the zip workload's did already. */
  async prepare(bench) {
    const { count, size } = bench.config.zipFiles;
    const head = await fetchAnswer(`${bench.kit.base}/api/exports/files.zip`, { method: 'HEAD' }).catch(() => undefined);
    if (head && Number(head.headers['content-length']) >= count * size) return;
    const bytes = await readFile(await cachedFile(bench.cacheDir, size));
    for (let i = 0; i < count; i++) {
      const form = new FormData();
      form.append('file', new Blob([bytes]), `resume-${i + 1}.bin`);
      const response = await fetch(`${bench.kit.base}/api/files`, { method: 'POST', body: form });
      if (response.status !== 201) throw new Error(`upload of resume-${i + 1}.bin answered ${response.status}: ${await response.text()}`);
    }
  },
  async run(bench) {
    const { ctx, kit } = bench;
    const url = `${kit.base}/api/exports/files.zip`;
    const probe = await fetchAnswer(url, { method: 'HEAD' }).catch(() => undefined);
    if (!probe || probe.status !== 200) {
      ctx.skip(`zip-resume: ${url} answered ${probe?.status ?? 'nothing'}`);
      return { rows: [] };
    }
    const length = Number(probe.headers['content-length']);
    const etag = String(probe.headers.etag);
    const cut = Math.floor(length * 0.9);
    const title = `files.zip ${(length / MB).toFixed(0)} MB, resume at 90%`;
    ctx.log(`${title}: ${ctx.config.rounds} whole downloads and ${ctx.config.rounds} resumes`);
    const runs = { whole: { ms: [] as number[], read: [] as number[] }, resume: { ms: [] as number[], read: [] as number[] } };
    for (let round = 0; round < ctx.config.rounds; round++) {
      for (const [kind, headers, status, bytes] of [
        ['whole', {}, 200, length],
        ['resume', { range: `bytes=${cut}-`, 'if-range': etag }, 206, length - cut],
      ] as const) {
        const pids = kit.pids();
        await settle(pids);
        const before = readChars(pids);
        const answer = await download(url, headers);
        const read = readChars(pids) - before;
        if (answer.status !== status || answer.bytes !== bytes) {
          ctx.problem(`${title}: ${kind} answered ${answer.status} with ${answer.bytes} bytes, not ${status} with ${bytes}`);
          return { rows: [] };
        }
        runs[kind].ms.push(answer.ms);
        runs[kind].read.push(read / MB);
      }
    }
    const row = (contender: string, unit: string, values: number[]): Row => ({ workload: title, contender, unit, values, median: median(values) });
    const share = median(runs.resume.read) / median(runs.whole.read);
    return {
      rows: [
        row('whole: time', 'ms', runs.whole.ms),
        row('resume: time', 'ms', runs.resume.ms),
        row('whole: bytes read', 'MB', runs.whole.read),
        row('resume: bytes read', 'MB', runs.resume.read),
      ],
      targets: [target('files.zip-resume-read-share', share, '<=', 0.15, 'x', 'median bytes read by the server for a resume at 90% / for the whole archive')],
    };
  },
};
