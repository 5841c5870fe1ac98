import path from 'node:path';
import { defineConfig } from '@playwright/test';
import { databaseUrl, e2eBaseURL, e2ePort, e2eStateDir, e2eVarDir, maxUploadBytes, mediaRoot } from './e2e/helpers';
import { nginxBaseURL, nginxPort } from './e2e/offload-helpers';
import { s3Bucket, s3Credentials, s3DemoBaseURL, s3DemoPort, s3DemoVarDir, s3Endpoint, s3Port } from './e2e/s3-helpers';

// E2E suite: a real Chromium (Debian's /usr/bin/chromium or $CHROMIUM_PATH; Playwright's
// own browser download is never used) against the production build of the demo,
// started by scripts/start.ts on 127.0.0.1:E2E_PORT with throwaway state in
// <E2E_STATE_DIR>/e2e-var (default test-results/), and nginx (Debian's, installed when missing and
// run as root) in front of that same server on 127.0.0.1:E2E_NGINX_PORT for e2e/offload.spec.ts
// (scripts/nginx.mjs). Every port is a free one unless its variable gives it (e2e/ports.ts), so
// two copies of the suite can run at once with state dirs of their own. `npm test` adds a JSON
// reporter on the command line.
const isCI = Boolean(process.env.CI);

export default defineConfig({
  testDir: 'e2e',
  outputDir: path.join(e2eStateDir, 'e2e'),
  fullyParallel: false,
  workers: 1,
  // No retries, on CI either: the server is local and deterministic, so a flaky
  // download test points at a real bug and must fail loudly.
  retries: 0,
  forbidOnly: isCI,
  timeout: 30_000,
  expect: { timeout: 5_000 },
  reporter: 'list',
  use: {
    baseURL: e2eBaseURL,
    acceptDownloads: true,
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
  projects: [{ name: 'chromium', use: { browserName: 'chromium' } }],
  // Started in this order and stopped in reverse: nginx comes up in front of the running app.
  webServer: [
    {
      // Playwright starts the web server before any globalSetup, so the wipe of the
      // server's state (media folder + SQLite file) happens here: every run seeds from empty.
      command: `rm -rf ${JSON.stringify(e2eVarDir)} && mkdir -p ${JSON.stringify(e2eVarDir)} && node_modules/.bin/tsx scripts/start.ts`,
      url: `${e2eBaseURL}/api/exports/hello-world.txt`,
      env: {
        PORT: String(e2ePort),
        HOST: '127.0.0.1',
        MEDIA_ROOT: mediaRoot,
        DATABASE_URL: databaseUrl,
        // Small, so the admin spec goes over it cheaply (downloads such as the 3 MiB sample.bin are not limited).
        MAX_UPLOAD_BYTES: String(maxUploadBytes),
        NEXT_TELEMETRY_DISABLED: '1',
      },
      reuseExistingServer: false,
      timeout: 180_000,
      stdout: 'pipe',
      stderr: 'pipe',
      gracefulShutdown: { signal: 'SIGTERM', timeout: 5_000 },
    },
    {
      // nginx only (NGINX_APP): it proxies to the server above and serves its media folder
      // behind X-Accel-Redirect. Ready once a download streamed by the app comes through it.
      command: 'node scripts/nginx.mjs',
      url: `${nginxBaseURL}/api/exports/hello-world.txt`,
      env: {
        PROXY_PORT: String(nginxPort),
        NGINX_APP: `127.0.0.1:${e2ePort}`,
        MEDIA_ROOT: mediaRoot,
      },
      reuseExistingServer: false,
      timeout: 120_000,
      stdout: 'pipe',
      stderr: 'pipe',
      gracefulShutdown: { signal: 'SIGTERM', timeout: 5_000 },
    },
    {
      // An S3-compatible server for e2e/s3.spec.ts: fauxqs (installed on demand under var/tools)
      // behind a gate that checks SigV4 signatures and applies response-* overrides as S3 does.
      command: `node scripts/s3.mjs start --gate --port ${s3Port} --bucket ${s3Bucket}`,
      url: `${s3Endpoint}/`,
      env: { S3_GATE_KEY_ID: s3Credentials.accessKeyId, S3_GATE_SECRET: s3Credentials.secretAccessKey },
      reuseExistingServer: false,
      timeout: 120_000,
      stdout: 'pipe',
      stderr: 'pipe',
      gracefulShutdown: { signal: 'SIGTERM', timeout: 5_000 },
    },
    {
      // The same build, its files table on S3 and /api/files/{id} redirecting (FILES_DELIVERY).
      command: `rm -rf ${JSON.stringify(s3DemoVarDir)} && mkdir -p ${JSON.stringify(s3DemoVarDir)} && node_modules/.bin/tsx scripts/start.ts`,
      url: `${s3DemoBaseURL}/api/exports/hello-world.txt`,
      env: {
        PORT: String(s3DemoPort),
        HOST: '127.0.0.1',
        MEDIA_ROOT: `${s3DemoVarDir}/media`,
        DATABASE_URL: `${s3DemoVarDir}/demo.db`,
        FILES_STORAGE: `s3://${s3Bucket}/files`,
        FILES_DELIVERY: 'redirect',
        AWS_ACCESS_KEY_ID: s3Credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: s3Credentials.secretAccessKey,
        AWS_REGION: 'us-east-1',
        AWS_ENDPOINT_URL_S3: s3Endpoint,
        NEXT_TELEMETRY_DISABLED: '1',
      },
      reuseExistingServer: false,
      timeout: 180_000,
      stdout: 'pipe',
      stderr: 'pipe',
      gracefulShutdown: { signal: 'SIGTERM', timeout: 5_000 },
    },
  ],
});
