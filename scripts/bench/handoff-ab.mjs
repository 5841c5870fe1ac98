#!/usr/bin/env node
// The hand-off without Next, before and after a change: the kit's server (createKitServer)
// around one pathDownload route, each Response sent the way Next's sendResponse sends it
// (headers through setHeader, then `response.body` read once), loaded with wrk. Next's own cost
// per request is several times the hand-off's, so `npm run bench` hides a change to it in its
// run-to-run spread; here it is most of what is measured.
//
//   node scripts/bench/handoff-ab.mjs <built lib/dist A> <built lib/dist B> [rounds]
//
// e.g. `git worktree add ../before <commit> && (cd ../before && npm ci && npm run build:package)`,
// then `node scripts/bench/handoff-ab.mjs ../before/lib/dist lib/dist`. A and B alternate for each
// round, so that drift in the machine's load falls on both.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { freePort } from '../free-port.mjs';

/** The server, as a child process: `node handoff-ab.mjs --serve <dist> <root> <port>`. */
async function serve(dist, root, port) {
  const url = (file) => pathToFileURL(path.join(dist, file)).href;
  const { createKitServer } = await import(url('server/kit-server.js'));
  const { pathDownload } = await import(url('index.js'));
  // A dist from before HandoffResponse enabled the hand-off only through startServer.
  await import(url('engine/length-handoff.js')).then((old) => old.enableLengthHeader(), () => undefined);
  const route = pathDownload({ root });
  const dropped = new Set(['content-length', 'content-encoding', 'transfer-encoding']);
  const { server } = createKitServer(
    async (req, res) => {
      const request = new Request(`http://bench${req.url}`, { headers: req.headers });
      const response = await route.GET(request, { params: Promise.resolve({ path: [req.url.slice(1)] }) });
      res.statusCode = response.status;
      response.headers.forEach((value, name) => {
        if (!dropped.has(name)) res.setHeader(name, [value]);
      });
      const body = response.body;
      if (!body) return void res.end();
      const reader = body.getReader();
      for (let read = await reader.read(); !read.done; read = await reader.read()) {
        if (!res.write(read.value)) await new Promise((resolve) => res.once('drain', resolve));
      }
      res.end();
    },
    { log: () => undefined },
  );
  server.listen(port, '127.0.0.1', () => process.send?.('ready'));
}

/** Requests per second wrk measured for `url`. */
function wrk(url, connections) {
  const output = execFileSync('wrk', ['-t2', `-c${connections}`, '-d6s', url], { encoding: 'utf8' });
  const match = /Requests\/sec:\s+([\d.]+)/.exec(output);
  if (!match) throw new Error(`wrk printed no rate:\n${output}`);
  return Number(match[1]);
}

async function round(dist, root) {
  const port = await freePort();
  const child = spawn(process.execPath, [process.argv[1], '--serve', dist, root, String(port)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  await new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => reject(new Error(`the server for ${dist} exited (${code})`)));
  });
  try {
    const head = execFileSync('curl', ['-sI', `http://127.0.0.1:${port}/medium.bin`], { encoding: 'utf8' });
    return {
      length: /content-length: 1048576/i.test(head),
      medium: wrk(`http://127.0.0.1:${port}/medium.bin`, 16),
      small: wrk(`http://127.0.0.1:${port}/small.bin`, 64),
    };
  } finally {
    child.kill();
  }
}

async function main() {
  const [a, b, rounds = '3'] = process.argv.slice(2);
  if (!a || !b) throw new Error('usage: node scripts/bench/handoff-ab.mjs <lib/dist A> <lib/dist B> [rounds]');
  const root = mkdtempSync(path.join(os.tmpdir(), 'handoff-ab-'));
  try {
    writeFileSync(path.join(root, 'medium.bin'), Buffer.alloc(1024 * 1024, 7));
    writeFileSync(path.join(root, 'small.bin'), Buffer.alloc(4096, 7));
    const results = { A: [], B: [] };
    for (let i = 0; i < Number(rounds); i++) {
      for (const [name, dist] of [['A', a], ['B', b]]) {
        const result = await round(path.resolve(dist), root);
        results[name].push(result);
        console.log(`round ${i + 1} ${name}: 1 MiB x16 ${result.medium.toFixed(0)} req/s, 4 KiB x64 ${result.small.toFixed(0)} req/s${result.length ? '' : ' (no Content-Length: no hand-off)'}`);
      }
    }
    const mean = (list, key) => list.reduce((sum, result) => sum + result[key], 0) / list.length;
    for (const key of ['medium', 'small']) {
      const change = (mean(results.B, key) / mean(results.A, key) - 1) * 100;
      console.log(`${key === 'medium' ? '1 MiB x16' : '4 KiB x64'}: A ${mean(results.A, key).toFixed(0)}, B ${mean(results.B, key).toFixed(0)} req/s (${change >= 0 ? '+' : ''}${change.toFixed(1)}%)`);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--serve') await serve(process.argv[3], process.argv[4], Number(process.argv[5]));
else await main();
