#!/usr/bin/env node
// `node scripts/nginx.mjs`: the production demo behind nginx, as it would be deployed with
// offload: nginx on 127.0.0.1:PROXY_PORT (default 8080) proxies to the app and serves the
// files the app hands over with X-Accel-Redirect (GET /api/accel/<name>).
//
//   PROXY_PORT   nginx's port on 127.0.0.1 (default 8080)
//   PORT         the app's port on 127.0.0.1 (default 3000); the app is started with
//                scripts/start.ts (which builds it first when the build is stale)
//   NGINX_APP    host:port of an app that is already running: start only nginx in front of it
//                (the e2e tests do this, with the app Playwright started)
//   MEDIA_ROOT   the app's media folder (default var/media), served by nginx's internal location
//   NGINX_PATH   the nginx binary (default: found on PATH or in /usr/sbin); Debian's package is
//                installed when there is none and this runs as root (scripts/ensure-nginx.mjs)
//
// nginx runs in the foreground with nginx/nginx.conf.template rendered into a fresh temporary
// folder that also holds its pid file, error log and temporary files. SIGTERM or SIGINT stops
// nginx and the app, removes that folder and exits; if either stops on its own, so does the other.

import { spawn, spawnSync } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ensureNginx } from './ensure-nginx.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const TEMPLATE = path.join(root, 'nginx', 'nginx.conf.template');

/**
 * Fills every `{{NAME}}` of the template from `values`; a placeholder without a value, or a
 * value that cannot sit inside a quoted nginx string (a quote, a backslash, a `$` that nginx
 * would read as a variable, a control character), throws.
 */
export function renderNginxConfig(template, values) {
  for (const [name, value] of Object.entries(values)) {
    // eslint-disable-next-line no-control-regex -- refusing control characters is the point
    if (/["\\$\u0000-\u001f\u007f]/.test(String(value))) {
      throw new Error(`nginx.mjs: ${name} contains a character nginx.conf cannot take here: ${JSON.stringify(value)}`);
    }
  }
  return template.replace(/\{\{([A-Z_]+)\}\}/g, (_match, name) => {
    if (!(name in values)) throw new Error(`nginx.mjs: no value for {{${name}}} in the template`);
    return String(values[name]);
  });
}

function port(name, fallback) {
  const text = process.env[name] || String(fallback);
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || value > 65535) throw new Error(`${name} must be a port number, got ${text}`);
  return value;
}

/** `user` for the workers when started as root: the owner of the media folder, who can read it. */
function userDirective(mediaRoot) {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return { line: '', uid: undefined, gid: undefined };
  const { uid, gid } = statSync(mediaRoot);
  const name = (flag, id) => spawnSync('id', [flag, String(id)], { encoding: 'utf8' }).stdout?.trim();
  const user = name('-nu', uid) || 'root';
  const group = spawnSync('getent', ['group', String(gid)], { encoding: 'utf8' }).stdout?.split(':')[0] || user;
  return { line: `user ${user} ${group};`, uid, gid };
}

async function waitForHttp(url, isAlive, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive()) return false;
    try {
      const response = await fetch(url, { redirect: 'manual' });
      await response.arrayBuffer();
      // 502/504: nginx is up, the app not yet.
      if (response.status !== 502 && response.status !== 504) return true;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

/** Renders the config into `tempDir`, with the folders nginx writes to, and checks it with `nginx -t`. */
function prepare(nginxPath, tempDir, { appAddress, proxyHost, proxyPort, mediaRoot }) {
  const user = userDirective(mediaRoot);
  for (const folder of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(path.join(tempDir, folder));
  if (user.uid !== undefined) {
    // The workers write request bodies and proxy buffers here.
    for (const folder of ['', 'client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) chownSync(path.join(tempDir, folder), user.uid, user.gid);
  }
  const config = path.join(tempDir, 'nginx.conf');
  const errorLog = path.join(tempDir, 'error.log');
  writeFileSync(
    config,
    renderNginxConfig(readFileSync(TEMPLATE, 'utf8'), {
      TEMP_DIR: tempDir,
      USER_DIRECTIVE: user.line,
      APP_ADDRESS: appAddress,
      PROXY_HOST: proxyHost,
      PROXY_PORT: proxyPort,
      MEDIA_ROOT: mediaRoot,
    }),
  );
  // `-e`: errors before the config is read go there too, not to /var/log/nginx.
  const nginxArgs = ['-p', `${tempDir}/`, '-e', errorLog, '-c', config];
  const check = spawnSync(nginxPath, ['-t', '-q', ...nginxArgs], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`nginx -t failed:\n${check.stderr}${check.stdout}`);
  return { nginxArgs, errorLog };
}

async function main() {
  process.chdir(root);
  const proxyHost = '127.0.0.1';
  const proxyPort = port('PROXY_PORT', 8080);
  const appPort = port('PORT', 3000);
  const existingApp = process.env.NGINX_APP;
  if (existingApp !== undefined && !/^[A-Za-z0-9.-]+:[0-9]{1,5}$/.test(existingApp)) {
    throw new Error(`NGINX_APP must be host:port, got ${existingApp}`);
  }
  const appAddress = existingApp ?? `127.0.0.1:${appPort}`;
  const mediaRoot = path.resolve(root, process.env.MEDIA_ROOT || 'var/media');

  const nginx = ensureNginx();
  if (!nginx.ok) throw new Error(nginx.message);

  mkdirSync(mediaRoot, { recursive: true });
  const tempDir = mkdtempSync(path.join(os.tmpdir(), 'next-downloadview-nginx-'));
  let nginxArgs;
  let errorLog;
  try {
    ({ nginxArgs, errorLog } = prepare(nginx.path, tempDir, { appAddress, proxyHost, proxyPort, mediaRoot }));
  } catch (error) {
    rmSync(tempDir, { recursive: true, force: true });
    throw error;
  }

  const children = new Map();
  let stopping = false;
  let exitCode = 0;

  const stopAll = (code) => {
    if (!stopping) exitCode = code;
    stopping = true;
    // nginx: SIGTERM is its fast shutdown. The app drains its running requests itself.
    for (const child of children.values()) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    if (children.size === 0) finish();
  };

  const finish = () => {
    if (exitCode !== 0) {
      try {
        const log = readFileSync(errorLog, 'utf8').trim();
        if (log) console.error(`nginx error log:\n${log.split('\n').slice(-20).join('\n')}`);
      } catch {
        // No log written.
      }
    }
    rmSync(tempDir, { recursive: true, force: true });
    process.exit(exitCode);
  };

  const start = (name, command, args, env) => {
    const child = spawn(command, args, { stdio: 'inherit', env: { ...process.env, ...env } });
    children.set(name, child);
    child.on('error', (error) => {
      console.error(`nginx.mjs: cannot start ${name}: ${error.message}`);
      children.delete(name);
      stopAll(1);
    });
    child.on('exit', (code, signal) => {
      children.delete(name);
      if (!stopping) {
        // Stopped by a signal meant for the whole group (Ctrl-C, a test runner): a normal stop.
        const bySignal = signal === 'SIGTERM' || signal === 'SIGINT' || signal === 'SIGQUIT' || code === 0;
        if (!bySignal) console.error(`nginx.mjs: ${name} stopped (${signal ?? `exit ${code}`}); stopping the rest`);
        stopAll(bySignal ? 0 : 1);
      }
      if (children.size === 0) finish();
    });
  };

  process.on('SIGTERM', () => stopAll(0));
  process.on('SIGINT', () => stopAll(0));

  if (existingApp === undefined) {
    start('app', path.join(root, 'node_modules', '.bin', 'tsx'), [path.join(root, 'scripts', 'start.ts')], {
      PORT: String(appPort),
      HOST: '127.0.0.1',
      MEDIA_ROOT: mediaRoot,
    });
  }
  start('nginx', nginx.path, nginxArgs);

  const proxyUrl = `http://${proxyHost}:${proxyPort}`;
  const alive = () => !stopping;
  // The app first (its start may build it, ~30 s or more), so that nginx does not log a
  // refused connection for every poll meanwhile; then the same page through nginx.
  const ready =
    (existingApp !== undefined || (await waitForHttp(`http://${appAddress}/`, alive, 600_000))) &&
    (await waitForHttp(`${proxyUrl}/`, alive, 30_000));
  if (ready) {
    console.log(`nginx ready on ${proxyUrl} -> app on ${appAddress}; media from ${mediaRoot}`);
  } else if (!stopping) {
    console.error(`nginx.mjs: ${proxyUrl} did not answer; stopping`);
    stopAll(1);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
