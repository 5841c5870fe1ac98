import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { findPostgres } from './ensure-postgres.mjs';
import { startPostgres } from './postgres.mjs';

// The throwaway cluster the tests and `node scripts/postgres.mjs` use. The run's globalSetup has
// already made sure the binaries are there (or printed why not).

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe.runIf(findPostgres() !== null)('startPostgres', () => {
  it('starts two clusters side by side on two ports, each answering SQL, and stop removes each entirely', async () => {
    const [a, b] = await Promise.all([startPostgres(), startPostgres()]);
    try {
      expect(a!.port).not.toBe(b!.port);
      for (const server of [a!, b!]) {
        expect(server.url).toBe(`postgres://postgres@127.0.0.1:${server.port}/postgres`);
        const client = new pg.Client({ connectionString: server.url });
        await client.connect();
        const { rows } = await client.query<{ answer: number }>('SELECT 6 * 7 AS answer');
        await client.end();
        expect(rows[0]?.answer).toBe(42);
      }
    } finally {
      a!.stop();
      b!.stop();
    }
    for (const server of [a!, b!]) {
      expect(existsSync(server.dir)).toBe(false);
      expect(await accepts(server.port)).toBe(false);
    }
  }, 60_000);

  it('refuses a port that is not a port number', async () => {
    await expect(startPostgres({ port: 70000 })).rejects.toThrow(/bad port/);
  });
});

describe.runIf(findPostgres() !== null)('a cluster whose process is killed outright', () => {
  it('is stopped and its folder removed within seconds', async () => {
    const script = "import('./scripts/postgres.mjs').then(async (m) => { const s = await m.startPostgres(); console.log(JSON.stringify(s)); })";
    const child = spawn(process.execPath, ['-e', `${script}; setInterval(() => {}, 1000)`], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] });
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('\n')) resolve(out.split('\n')[0]!);
      });
      child.once('exit', () => reject(new Error(`exited before starting: ${out}`)));
    });
    const { port, dir } = JSON.parse(line) as { port: number; dir: string };
    expect(await accepts(port)).toBe(true);
    child.kill('SIGKILL');
    const deadline = Date.now() + 15_000;
    while ((existsSync(dir) || (await accepts(port))) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
    expect(existsSync(dir)).toBe(false);
    expect(await accepts(port)).toBe(false);
  }, 60_000);
});
