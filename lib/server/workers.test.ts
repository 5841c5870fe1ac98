import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const FIXTURE = path.join(import.meta.dirname, 'workers-fixture.mjs');
const started: ChildProcess[] = [];

afterEach(() => {
  for (const child of started.splice(0)) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

interface Cluster {
  child: ChildProcess;
  output(): string;
  exited: Promise<{ code: number | null; ms: number }>;
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
}

function startCluster(port: number, mode = 'serve'): Cluster {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE], {
    env: { ...process.env, PORT: String(port), FIXTURE_MODE: mode },
    stdio: ['ignore', 'pipe', 'pipe'],
    // A process group of its own, as a terminal gives: a Ctrl-C reaches the primary and every worker.
    detached: true,
  });
  started.push(child);
  const begun = Date.now();
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; ms: number }>((resolve) => child.once('exit', (code) => resolve({ code, ms: Date.now() - begun })));
  const waitFor = async (pattern: RegExp, timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = output.match(pattern);
      if (match) return match;
      if (Date.now() > deadline) throw new Error(`no ${pattern} within ${timeoutMs} ms in:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  return { child, output: () => output, exited, waitFor };
}

/** One request on a connection of its own, so the cluster may hand it to any worker. */
function get(port: number, pathname = '/', timeoutMs = 10_000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: pathname, agent: false }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

function workerPids(output: string): Set<string> {
  return new Set([...output.matchAll(/worker (\d+) listening/g)].map((match) => match[1]!));
}

describe('superviseWorkers', () => {
  it('serves from two workers, replaces one killed with SIGKILL without failing the next requests, and drains on SIGTERM', async () => {
    const port = await freePort();
    const cluster = startCluster(port);
    await cluster.waitFor(/ready on 127\.0\.0\.1:\d+/);
    const first = workerPids(cluster.output());
    expect(first.size).toBe(2);

    const answered = new Set<string>();
    for (let i = 0; i < 12; i++) {
      const { status, body } = await get(port);
      expect(status).toBe(200);
      answered.add(body);
    }
    // Both workers answer, and nothing but them.
    expect(answered).toEqual(first);

    const victim = [...first][0]!;
    process.kill(Number(victim), 'SIGKILL');
    await cluster.waitFor(new RegExp(`worker ${victim} exited \\(signal SIGKILL\\): starting a replacement`));
    for (let i = 0; i < 12; i++) expect((await get(port)).status).toBe(200);
    await cluster.waitFor(/worker \d+ listening[\s\S]*worker \d+ listening[\s\S]*worker \d+ listening/);
    const now = workerPids(cluster.output());
    expect(now.size).toBe(3);

    // A request in flight when SIGTERM comes still completes; then the primary exits, promptly.
    const slow = get(port, '/slow');
    await new Promise((resolve) => setTimeout(resolve, 300));
    cluster.child.kill('SIGTERM');
    const answer = await slow;
    expect(answer.status).toBe(200);
    const { code, ms } = await cluster.exited;
    expect(code).toBe(0);
    expect(cluster.output()).toMatch(/SIGTERM received: stopping 2 workers/);
    expect(cluster.output()).not.toMatch(/did not stop/);
    expect(ms).toBeLessThan(60_000);
    await expect(get(port)).rejects.toThrow();
  }, 90_000);

  it("serves the connections sent to a worker as it is killed from another one, and keeps the primary's descriptors flat across 100 kills", async () => {
    const port = await freePort();
    const cluster = startCluster(port);
    await cluster.waitFor(/ready on/);
    const descriptors = () => readdirSync(`/proc/${cluster.child.pid}/fd`).length;
    for (let i = 0; i < 4; i++) expect((await get(port)).status).toBe(200);
    const before = descriptors();
    const KILLS = Number(process.env.KILLS ?? 100);
    const failures: string[] = [];
    let served = 0;
    for (let kill = 1; kill <= KILLS; kill++) {
      const victim = Number((await get(port)).body);
      process.kill(victim, 'SIGKILL');
      // New connections opened at once race the primary learning of the death: one of them is
      // handed to the dead worker. Each must be answered, not left hanging until its timeout.
      const answers = await Promise.allSettled([get(port, '/', 5_000), get(port, '/', 5_000), get(port, '/', 5_000)]);
      for (const answer of answers) {
        if (answer.status === 'fulfilled' && answer.value.status === 200) served++;
        else failures.push(`kill ${kill}: ${answer.status === 'rejected' ? String(answer.reason) : answer.value.status}`);
      }
      // The replacement listens before the next kill, so there is always a worker to serve.
      for (const deadline = Date.now() + 60_000; workerPids(cluster.output()).size < 2 + kill; ) {
        if (Date.now() > deadline) throw new Error(`no replacement for kill ${kill} within 60 s:\n${cluster.output()}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    expect(failures).toEqual([]);
    expect(served).toBe(3 * KILLS);
    expect(descriptors()).toBeLessThanOrEqual(before);
  }, 400_000);

  it('lets a Ctrl-C that reaches the primary and the workers at once drain, not cut, running requests', async () => {
    const port = await freePort();
    const cluster = startCluster(port);
    await cluster.waitFor(/ready on/);
    const slow = get(port, '/slow');
    await new Promise((resolve) => setTimeout(resolve, 300));
    process.kill(-cluster.child.pid!, 'SIGINT');
    expect((await slow).status).toBe(200);
    expect((await cluster.exited).code).toBe(0);
  }, 60_000);

  it('cuts running requests short on a second SIGTERM to the primary', async () => {
    const port = await freePort();
    const cluster = startCluster(port);
    await cluster.waitFor(/ready on/);
    const hang = get(port, '/hang');
    await new Promise((resolve) => setTimeout(resolve, 300));
    cluster.child.kill('SIGTERM');
    await cluster.waitFor(/SIGTERM received/);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const second = Date.now();
    cluster.child.kill('SIGTERM');
    await expect(hang).rejects.toThrow();
    expect((await cluster.exited).code).toBe(0);
    // The workers' grace period is 5 s; cut short, they exit after the 0.5 s cleanup.
    expect(Date.now() - second).toBeLessThan(3_000);
  }, 60_000);

  it('gives up with exit code 1 after workers keep dying before they listen, without a hot loop', async () => {
    const cluster = startCluster(await freePort(), 'crash');
    const { code } = await cluster.exited;
    expect(code).toBe(1);
    expect(cluster.output()).toMatch(/3 workers in a row died before listening; giving up/);
    // Both first workers die; each gets a replacement after a growing backoff; the third death ends it.
    const delays = [...cluster.output().matchAll(/starting a replacement in (\d+) ms/g)].map((match) => Number(match[1]));
    expect(delays).toEqual([200, 400]);
    expect(cluster.output()).not.toMatch(/starting a replacement$/m);
  }, 60_000);

  it('does not retry a worker that exits as a configuration error', async () => {
    const cluster = startCluster(await freePort(), 'config');
    const { code } = await cluster.exited;
    expect(code).toBe(1);
    expect(cluster.output()).toMatch(/its configuration cannot work, so no replacement/);
    expect(cluster.output()).not.toMatch(/starting a replacement/);
  }, 60_000);
});
