import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect, test, type APIRequestContext, type Download, type Locator, type Page, type TestInfo } from '@playwright/test';
import { e2eBaseURL, maxUploadBytes, mediaRoot, readZip, sha256, sha256File } from './helpers';

// The admin page at `/`, driven as a person would in Chromium: one real browser download per
// factory (suggested name, bytes), the length on the wire, a resumed download, upload ->
// download -> delete, the upload limit, the ZIP export, signed links. Each page state is saved
// as a screenshot under the test's output folder.
//
// The tests share one server (workers: 1) and run in order; each leaves the files table as it
// found it, except the last (the empty state), which restores the media folder it emptied.

interface FileJson {
  id: number;
  name: string;
  size: number;
  contentType: string;
  sha256: string;
}

async function filesTable(request: APIRequestContext): Promise<FileJson[]> {
  const response = await request.get('/api/files');
  expect(response.status()).toBe(200);
  return (await response.json()) as FileJson[];
}

async function rowNamed(request: APIRequestContext, name: string): Promise<FileJson> {
  const row = (await filesTable(request)).find((file) => file.name === name);
  if (!row) throw new Error(`no row named ${name}`);
  return row;
}

/** Clicks (or submits) in the page and saves the download that follows. */
async function downloadBy(page: Page, act: () => Promise<void>, testInfo: TestInfo): Promise<{ download: Download; bytes: Buffer }> {
  const [download] = await Promise.all([page.waitForEvent('download'), act()]);
  expect(await download.failure()).toBeNull();
  const saved = testInfo.outputPath(`download-${Date.now()}.bin`);
  await download.saveAs(saved);
  return { download, bytes: await readFile(saved) };
}

/** The size is on the wire before the body: Content-Length on HEAD and on GET. */
async function expectLength(request: APIRequestContext, url: string, size: number): Promise<void> {
  const head = await request.fetch(url, { method: 'HEAD' });
  expect(head.status(), `HEAD ${url}`).toBe(200);
  expect(head.headers()['content-length'], `HEAD ${url}`).toBe(String(size));
  const get = await request.get(url);
  expect(get.status(), `GET ${url}`).toBe(200);
  expect(get.headers()['content-length'], `GET ${url}`).toBe(String(size));
  expect((await get.body()).length).toBe(size);
}

function media(name: string): Promise<Buffer> {
  return readFile(path.join(mediaRoot, name));
}

/** Every file under `dir`, dotfiles (an upload's temporary file) included. */
async function filesUnder(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { recursive: true, withFileTypes: true });
    return entries.filter((entry) => entry.isFile()).map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)));
  } catch {
    return [];
  }
}

function numbersText(count: number): string {
  let text = '';
  for (let n = 1; n <= count; n++) text += `${n}\n`;
  return text;
}

function section(page: Page, name: string): Locator {
  return page.getByRole('region', { name, exact: true });
}

/** The whole page, what is on screen (`'viewport'`: a modal dialog), or one section of it. */
async function screenshot(page: Page, testInfo: TestInfo, name: string, what: Locator | 'page' | 'viewport' = 'page'): Promise<void> {
  const file = testInfo.outputPath(`${name}.png`);
  if (what === 'page' || what === 'viewport') await page.screenshot({ path: file, fullPage: what === 'page' });
  else await what.screenshot({ path: file });
}

test.describe('the admin page', () => {
  test('shows the five factories, with labelled controls, on a desktop and on a phone', async ({ page }, testInfo) => {
    await page.goto('/');
    for (const name of ['Files', 'Exports', 'Media folder', 'Remote', 'Signed links']) {
      await expect(page.getByRole('heading', { level: 2, name, exact: true })).toBeVisible();
      // Each section shows the route behind it.
      await expect(section(page, name).locator('figure.code').first()).toContainText('export const');
    }
    for (const label of ['File to upload', 'Count (1 to 100,000,000)', 'File', 'Expires in (seconds)']) {
      await expect(page.getByLabel(label, { exact: true })).toBeVisible();
    }
    await expect(page.getByText('Up to 2 MiB per file')).toBeVisible();
    await expect(section(page, 'Remote')).toContainText(`${e2eBaseURL}/api/storage/`);

    // The keyboard: the first Tab reaches the skip link, which moves past the header.
    await page.keyboard.press('Tab');
    await expect(page.getByRole('link', { name: 'Skip to content' })).toBeFocused();
    await page.keyboard.press('Enter');
    await expect(page.locator('main')).toBeFocused();
    await screenshot(page, testInfo, 'admin-desktop');

    await page.setViewportSize({ width: 390, height: 844 });
    // Nothing wider than the phone: the tables stack into rows.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await expect(section(page, 'Files').locator('thead')).not.toBeInViewport();
    await screenshot(page, testInfo, 'admin-phone');
  });
});

test.describe('browser downloads, one per factory', () => {
  test('objectDownload: a row of the files table, by its Download link', async ({ page, request }, testInfo) => {
    await page.goto('/');
    for (const name of ['中文报告.txt', 'sample.bin']) {
      const link = page.getByRole('link', { name: `Download ${name}`, exact: true });
      const { download, bytes } = await downloadBy(page, () => link.click(), testInfo);
      expect(download.suggestedFilename()).toBe(name);
      expect(sha256(bytes)).toBe(await sha256File(path.join(mediaRoot, name)));
      expect(sha256(bytes)).toBe((await rowNamed(request, name)).sha256);
      await expectLength(request, (await link.getAttribute('href'))!, bytes.length);
    }
  });

  test('storageDownload: a file of the media storage', async ({ page, request }, testInfo) => {
    await page.goto('/');
    const name = 'résumé été.txt';
    const link = page.getByRole('link', { name: `Download ${name} through storageDownload` });
    const { download, bytes } = await downloadBy(page, () => link.click(), testInfo);
    expect(download.suggestedFilename()).toBe(name);
    expect(bytes.equals(await media(name))).toBe(true);
    await expectLength(request, (await link.getAttribute('href'))!, bytes.length);
  });

  test('pathDownload: a file in a sub-folder of MEDIA_ROOT', async ({ page, request }, testInfo) => {
    await page.goto('/');
    const link = section(page, 'Media folder').getByRole('link', { name: 'docs/guide.md', exact: true });
    const { download, bytes } = await downloadBy(page, () => link.click(), testInfo);
    expect(download.suggestedFilename()).toBe('guide.md');
    expect(bytes.equals(await media('docs/guide.md'))).toBe(true);
    await expectLength(request, '/api/path/docs/guide.md', bytes.length);
  });

  test('virtualDownload: numbers.txt with the count typed in the form', async ({ page, request }, testInfo) => {
    await page.goto('/');
    await page.getByLabel('Count (1 to 100,000,000)').fill('12345');
    const submit = page.getByRole('button', { name: 'Download numbers.txt' });
    const { download, bytes } = await downloadBy(page, () => submit.click(), testInfo);
    expect(download.suggestedFilename()).toBe('numbers.txt');
    expect(download.url()).toMatch(/\/api\/exports\/numbers\.txt\?count=12345$/);
    expect(sha256(bytes)).toBe(sha256(numbersText(12345)));
    await expectLength(request, '/api/exports/numbers.txt?count=12345', bytes.length);
  });

  test('virtualDownload: files.csv, the files table as it is', async ({ page, request }, testInfo) => {
    await page.goto('/');
    const link = section(page, 'Exports').getByRole('link', { name: 'files.csv', exact: true });
    const { download, bytes } = await downloadBy(page, () => link.click(), testInfo);
    expect(download.suggestedFilename()).toBe('files.csv');
    const lines = bytes.toString('utf8').split('\r\n');
    expect(lines[0]).toBe('id,name,size,content_type,sha256,created_at,updated_at');
    const rows = await filesTable(request);
    expect(lines.slice(1, -1).map((line) => line.split(',')[4])).toEqual(rows.map((row) => row.sha256));
    expect(sha256(bytes)).toBe(sha256(await (await request.get('/api/exports/files.csv')).body()));
  });

  test('httpDownload: a file fetched from the upstream and streamed through', async ({ page, request }, testInfo) => {
    await page.goto('/');
    const name = 'résumé été.txt';
    const link = section(page, 'Remote').getByRole('link', { name, exact: true });
    const { download, bytes } = await downloadBy(page, () => link.click(), testInfo);
    expect(download.suggestedFilename()).toBe(name);
    expect(bytes.equals(await media(name))).toBe(true);
    await expectLength(request, (await link.getAttribute('href'))!, bytes.length);
    await expectLength(request, '/api/remote/sample.bin', (await media('sample.bin')).length);
  });
});

test.describe('an interrupted download, resumed with Range and If-Range', () => {
  const urls: Array<[string, (request: APIRequestContext) => Promise<string>]> = [
    ['objectDownload', async (request) => `/api/files/${(await rowNamed(request, 'sample.bin')).id}`],
    ['storageDownload', () => Promise.resolve('/api/storage/sample.bin')],
    ['pathDownload', () => Promise.resolve('/api/path/sample.bin')],
    ['httpDownload', () => Promise.resolve('/api/remote/sample.bin')],
    ['virtualDownload (numbers.txt)', () => Promise.resolve('/api/exports/numbers.txt?count=200000')],
    ['virtualDownload (files.zip)', () => Promise.resolve('/api/exports/files.zip')],
  ];
  for (const [factory, urlOf] of urls) {
    test(`${factory}: the two halves make the same bytes as one download`, async ({ request }) => {
      const url = await urlOf(request);
      const whole = await request.get(url);
      expect(whole.status()).toBe(200);
      const etag = whole.headers()['etag'];
      expect(etag, 'a strong ETag to resume against').toMatch(/^"/);
      const size = Number(whole.headers()['content-length']);
      const half = Math.floor(size / 2);

      const first = await request.get(url, { headers: { Range: `bytes=0-${half - 1}` } });
      expect(first.status()).toBe(206);
      expect(first.headers()['content-range']).toBe(`bytes 0-${half - 1}/${size}`);
      const rest = await request.get(url, { headers: { Range: `bytes=${half}-`, 'If-Range': etag! } });
      expect(rest.status()).toBe(206);
      expect(rest.headers()['content-range']).toBe(`bytes ${half}-${size - 1}/${size}`);
      expect(rest.headers()['content-length']).toBe(String(size - half));
      const joined = Buffer.concat([await first.body(), await rest.body()]);
      expect(sha256(joined)).toBe(sha256(await whole.body()));

      // RFC 9110 §13.1.5: a validator that no longer matches gets the whole, current file.
      const stale = await request.get(url, { headers: { Range: `bytes=${half}-`, 'If-Range': '"stale"' } });
      expect(stale.status()).toBe(200);
      expect((await stale.body()).length).toBe(size);
    });
  }
});

test.describe('upload, download, delete', () => {
  test('an uploaded file shows progress, appears in the table, downloads byte for byte, and is gone once deleted', async ({ page, request }, testInfo) => {
    const name = 'Übung — upload 上传.bin';
    const content = randomBytes(1536 * 1024);
    await page.goto('/');
    const rowsBefore = await filesTable(request);

    // Slow the upload down (Chromium's own throttling), so the progress can be seen.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 1024 * 1024 });
    await page.getByLabel('File to upload').setInputFiles({ name, mimeType: 'application/octet-stream', buffer: content });
    await page.getByRole('button', { name: 'Upload', exact: true }).click();
    const progress = page.getByRole('progressbar', { name: /^Uploading / });
    await expect(progress).toBeVisible();
    await screenshot(page, testInfo, 'upload-in-progress', section(page, 'Files'));
    await expect(page.getByRole('status').filter({ hasText: `Uploaded ${name} (1.5 MiB).` })).toBeVisible({ timeout: 10_000 });
    await expect(progress).toHaveCount(0);
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });

    // The table refreshed by itself.
    const row = section(page, 'Files').getByRole('row').filter({ has: page.getByRole('rowheader', { name, exact: true }) });
    await expect(row).toHaveCount(1);
    await expect(row).toContainText('1.5 MiB');
    await expect(row).toContainText(sha256(content).slice(0, 12));
    await screenshot(page, testInfo, 'upload-done', section(page, 'Files'));

    const stored = await rowNamed(request, name);
    expect(stored.sha256).toBe(sha256(content));
    expect((await filesTable(request)).length).toBe(rowsBefore.length + 1);
    const link = row.getByRole('link', { name: `Download ${name}` });
    const { download, bytes } = await downloadBy(page, () => link.click(), testInfo);
    expect(download.suggestedFilename()).toBe(name);
    expect(sha256(bytes)).toBe(sha256(content));
    const href = (await link.getAttribute('href'))!;
    await expectLength(request, href, content.length);

    // Delete: Escape (or Cancel) keeps the file; the dialog's Delete removes it.
    const dialog = page.getByRole('dialog', { name: `Delete “${name}”?` });
    await row.getByRole('button', { name: `Delete ${name}` }).click();
    await expect(dialog).toBeVisible();
    await expect(dialog.getByRole('button', { name: 'Cancel' })).toBeFocused();
    await page.keyboard.press('Escape');
    await expect(dialog).toBeHidden();
    await expect(row).toHaveCount(1);

    await row.getByRole('button', { name: `Delete ${name}` }).click();
    await screenshot(page, testInfo, 'delete-confirm', 'viewport');
    await dialog.getByRole('button', { name: 'Delete', exact: true }).click();
    await expect(row).toHaveCount(0);
    await expect(page.getByRole('heading', { name: 'Files', exact: true })).toBeFocused();
    expect((await request.get(href)).status()).toBe(404);
    expect(await filesTable(request)).toEqual(rowsBefore);
    await screenshot(page, testInfo, 'deleted', section(page, 'Files'));
  });

  test('a file over the limit is refused in the page: nothing is sent, nothing is kept', async ({ page, request }, testInfo) => {
    const rowsBefore = await filesTable(request);
    const uploadsBefore = await filesUnder(path.join(mediaRoot, 'uploads'));
    await page.goto('/');
    const posts: string[] = [];
    page.on('request', (sent) => {
      if (sent.method() === 'POST') posts.push(sent.url());
    });

    await page.getByLabel('File to upload').setInputFiles({ name: 'too-big.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(maxUploadBytes + 1) });
    const alert = page.getByRole('alert').filter({ hasText: '“too-big.bin” is 2,097,153 bytes, over the limit of 2,097,152 bytes. Nothing was uploaded.' });
    await expect(alert).toBeVisible();
    await expect(page.getByLabel('File to upload')).toHaveAttribute('aria-invalid', 'true');
    await page.getByRole('button', { name: 'Upload', exact: true }).click();
    await expect(alert).toBeVisible();
    await screenshot(page, testInfo, 'upload-too-large', section(page, 'Files'));

    expect(posts).toEqual([]);
    expect(await filesTable(request)).toEqual(rowsBefore);
    expect(await filesUnder(path.join(mediaRoot, 'uploads'))).toEqual(uploadsBefore);
  });

  test('the server refuses an over-limit upload from the browser with 413 and its message, and keeps nothing', async ({ page, request }) => {
    // What the page shows when its own check is bypassed: the browser does get the 413 and the
    // message, even though the server answers before it has read the whole body.
    const rowsBefore = await filesTable(request);
    const uploadsBefore = await filesUnder(path.join(mediaRoot, 'uploads'));
    await page.goto('/');
    const answer = await page.evaluate(async (size) => {
      const body = new FormData();
      body.append('file', new File([new Uint8Array(size)], 'too-big.bin'));
      const xhr = new XMLHttpRequest();
      xhr.open('POST', '/api/files');
      const done = new Promise<void>((resolve) => {
        xhr.onloadend = () => resolve();
      });
      xhr.send(body);
      await done;
      return { status: xhr.status, text: xhr.responseText };
    }, maxUploadBytes + 1024 * 1024);
    expect(answer).toEqual({ status: 413, text: `File is larger than the limit of ${maxUploadBytes} bytes\n` });
    expect(await filesTable(request)).toEqual(rowsBefore);
    expect(await filesUnder(path.join(mediaRoot, 'uploads'))).toEqual(uploadsBefore);
  });
});

test.describe('files.zip', () => {
  test('opens, and holds every stored file under a unique name, byte for byte', async ({ page, request }, testInfo) => {
    // Two uploads of the same name: the archive calls the second one `dup (2).txt`.
    const added: FileJson[] = [];
    for (const text of ['first\n', 'second, longer\n']) {
      const response = await request.post('/api/files', { multipart: { file: { name: 'dup.txt', mimeType: 'text/plain', buffer: Buffer.from(text) } } });
      expect(response.status()).toBe(201);
      added.push((await response.json()) as FileJson);
    }
    try {
      await page.goto('/');
      const rows = await filesTable(request);
      await expect(section(page, 'Exports')).toContainText(`All ${rows.length} stored files in one ZIP`);
      const link = section(page, 'Exports').getByRole('link', { name: 'files.zip', exact: true });
      const { download, bytes } = await downloadBy(page, () => link.click(), testInfo);
      expect(download.suggestedFilename()).toBe('files.zip');
      await expectLength(request, '/api/exports/files.zip', bytes.length);

      const entries = readZip(bytes);
      const names = rows.map((row) => row.name);
      names[names.lastIndexOf('dup.txt')] = 'dup (2).txt';
      expect(entries.map((entry) => entry.name)).toEqual(names);
      expect(entries.map((entry) => sha256(entry.data))).toEqual(rows.map((row) => row.sha256));

      // And a standard tool agrees, where there is one.
      if (existsSync('/usr/bin/unzip')) {
        const saved = testInfo.outputPath('files.zip');
        await writeFile(saved, bytes);
        const { stdout } = await promisify(execFile)('/usr/bin/unzip', ['-t', saved]);
        expect(stdout).toContain('No errors detected');
      }
    } finally {
      for (const row of added) expect((await request.delete(`/api/files/${row.id}`)).status()).toBe(204);
    }
  });
});

test.describe('signed links', () => {
  test('a minted link downloads until it expires, then answers 403 with the reason', async ({ page, request }, testInfo) => {
    const name = 'résumé été.txt';
    await page.goto('/');
    const signed = section(page, 'Signed links');
    await expect(signed.getByLabel('File', { exact: true })).toHaveValue(name);
    await signed.getByLabel('Expires in (seconds)').fill('2');
    // Enter in the field submits the form: the keyboard is enough.
    await signed.getByLabel('Expires in (seconds)').press('Enter');
    await expect(signed.getByText(/^Valid for \d s$/)).toBeVisible();
    const url = await signed.getByLabel('Signed URL').inputValue();
    const signedPrefix = `${e2eBaseURL}/api/signed/r%C3%A9sum%C3%A9%20%C3%A9t%C3%A9.txt?expires=`;
    expect(url.slice(0, signedPrefix.length)).toBe(signedPrefix);
    expect(url.slice(signedPrefix.length)).toMatch(/^\d+&signature=/);

    const { download, bytes } = await downloadBy(page, () => signed.getByRole('link', { name: 'Try it: download' }).click(), testInfo);
    expect(download.suggestedFilename()).toBe(name);
    expect(bytes.equals(await media(name))).toBe(true);
    await signed.getByRole('button', { name: 'Check the link' }).click();
    await expect(signed.getByRole('status')).toHaveText('206 Partial Content: the link works.');
    await screenshot(page, testInfo, 'signed-valid', signed);

    // The URL's expiry is whole seconds, rounded up: at most 3 s from now.
    await expect(signed.getByText(/^Expired/)).toBeVisible({ timeout: 5_000 });
    await signed.getByRole('button', { name: 'Check the link' }).click();
    await expect(signed.getByRole('status')).toHaveText('403 Forbidden: Signature expired');
    await screenshot(page, testInfo, 'signed-expired', signed);

    const refused = await request.get(url);
    expect(refused.status()).toBe(403);
    expect(await refused.text()).toBe('Signature expired\n');
  });
});

test.describe('with no files', () => {
  // Last: it deletes every row (and with it the bytes, the seeded media files included), then
  // writes the media files back so the specs after it find the folder as it was.
  test('the Files section explains what to do', async ({ page, request }, testInfo) => {
    const rows = await filesTable(request);
    const saved = await Promise.all(
      (await filesUnder(mediaRoot)).map(async (name) => ({ name, bytes: await readFile(path.join(mediaRoot, name)) })),
    );
    try {
      for (const row of rows) expect((await request.delete(`/api/files/${row.id}`)).status()).toBe(204);
      await page.goto('/');
      const files = section(page, 'Files');
      await expect(files.getByText('No files yet.')).toBeVisible();
      await expect(files).toContainText('Choose a file above and press Upload');
      await expect(files.getByRole('table')).toHaveCount(0);
      await expect(section(page, 'Exports')).toContainText('All 0 stored files in one ZIP of exactly 22 B');
      await screenshot(page, testInfo, 'files-empty', files);
    } finally {
      for (const { name, bytes } of saved) {
        await mkdir(path.dirname(path.join(mediaRoot, name)), { recursive: true });
        await writeFile(path.join(mediaRoot, name), bytes);
      }
    }
  });
});

test('the demo keeps itself out of search engines: public/robots.txt, served by Next', async ({ request }) => {
  const response = await request.get('/robots.txt');
  expect(response.status()).toBe(200);
  expect(await response.text()).toBe(await readFile('public/robots.txt', 'utf8'));
  expect(await response.text()).toMatch(/^Disallow: \/$/m);
});
