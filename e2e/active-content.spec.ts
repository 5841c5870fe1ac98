import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect, test, type APIRequestContext, type Page, type Response } from '@playwright/test';
import { mediaRoot } from './helpers';
import { nginxBaseURL } from './offload-helpers';

// Active content (issue 10, class 1): an SVG or HTML file whose script would act on the app's
// origin, opened from the admin's own "Open" buttons in Chromium. Whatever the route does with
// it (download it, or render it sandboxed), no script of the file may run: no dialog, no request
// from the file's script, no change to the document. Every file the spec adds, it removes.

/** What the files try to do when they run: each one is visible from the test. */
const SVG = `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="160" height="40" onload="alert('svg onload')">
  <rect id="inert" width="160" height="40" fill="#2a6"/>
  <script>document.title = 'script ran'; fetch('/xss-probe?svg'); alert('svg script');</script>
</svg>
`;

const HTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>inert</title></head>
<body>
  <h1 id="inert">A page that must stay inert</h1>
  <img src="data:," onerror="alert('html onerror')" onload="alert('html onload')">
  <script>document.title = 'script ran'; fetch('/xss-probe?html'); alert('html script');</script>
</body></html>
`;

const samples = [
  { name: 'active-probe.svg', mimeType: 'image/svg+xml', content: SVG },
  { name: 'active-probe.html', mimeType: 'text/html', content: HTML },
];

interface FileJson {
  id: number;
  name: string;
}

/**
 * Records every sign of a script of the file running in `page`; `ran` rejects at the first one,
 * so a test waiting for something else fails at once, saying what ran.
 */
function watchForScript(page: Page): { seen: { dialogs: string[]; probes: string[] }; ran: Promise<never> } {
  const seen = { dialogs: [] as string[], probes: [] as string[] };
  let fail: (error: Error) => void = () => undefined;
  const ran = new Promise<never>((_resolve, reject) => (fail = reject));
  ran.catch(() => undefined);
  page.on('dialog', (dialog) => {
    seen.dialogs.push(dialog.message());
    fail(new Error(`a script of the file ran: alert(${JSON.stringify(dialog.message())})`));
    void dialog.dismiss().catch(() => undefined);
  });
  page.on('request', (request) => {
    if (!request.url().includes('/xss-probe')) return;
    seen.probes.push(request.url());
    fail(new Error(`a script of the file ran: it requested ${request.url()}`));
  });
  return { seen, ran };
}

async function rowsNamed(request: APIRequestContext, name: string): Promise<FileJson[]> {
  const response = await request.get('/api/files');
  expect(response.status()).toBe(200);
  return ((await response.json()) as FileJson[]).filter((row) => row.name === name);
}

function section(page: Page, name: string) {
  return page.getByRole('region', { name, exact: true });
}

test.describe('active content opened from the admin page', () => {
  for (const sample of samples) {
    test(`an uploaded ${sample.name} opened with "Open" is downloaded, and none of its script runs`, async ({ page, request }, testInfo) => {
      const { seen, ran } = watchForScript(page);
      await page.goto('/');
      try {
        await page.getByLabel('File to upload').setInputFiles({ name: sample.name, mimeType: sample.mimeType, buffer: Buffer.from(sample.content) });
        await page.getByRole('button', { name: 'Upload', exact: true }).click();
        await expect(page.getByRole('status').filter({ hasText: `Uploaded ${sample.name}` })).toBeVisible({ timeout: 10_000 });
        const row = section(page, 'Files').getByRole('row').filter({ has: page.getByRole('rowheader', { name: sample.name, exact: true }) });
        await expect(row).toHaveCount(1);

        // The files route keeps the kit's default: active content is an attachment, whatever
        // `?inline` asks, so the browser saves it instead of rendering it on this origin.
        const open = row.getByRole('link', { name: `Open ${sample.name} in the browser` });
        const [download] = await Promise.all([Promise.race([page.waitForEvent('download'), ran]), open.click()]);
        expect(await download.failure()).toBeNull();
        expect(download.suggestedFilename()).toBe(sample.name);
        await download.saveAs(testInfo.outputPath(sample.name));

        const href = (await open.getAttribute('href'))!;
        const response = await request.get(href);
        expect(response.headers()['content-disposition']).toMatch(/^attachment;/);
        expect(response.headers()['content-security-policy']).toMatch(/(^|;)\s*sandbox\s*(;|$)/);
        expect(response.headers()['x-content-type-options']).toBe('nosniff');

        // The admin page is still the one shown, untouched.
        expect(new URL(page.url()).pathname).toBe('/');
        await expect(page.getByRole('heading', { level: 2, name: 'Files', exact: true })).toBeVisible();
        expect(seen).toEqual({ dialogs: [], probes: [] });
      } finally {
        for (const row of await rowsNamed(request, sample.name)) {
          expect((await request.delete(`/api/files/${row.id}`)).status()).toBe(204);
        }
      }
    });
  }

  for (const sample of samples) {
    test(`${sample.name} in the media folder, opened with "Open", is shown sandboxed: none of its script runs`, async ({ page }, testInfo) => {
      const file = path.join(mediaRoot, sample.name);
      await mkdir(mediaRoot, { recursive: true });
      await writeFile(file, sample.content);
      try {
        await page.goto('/');
        const { seen } = watchForScript(page);
        const open = section(page, 'Media folder').getByRole('link', { name: `Open ${sample.name} in the browser, by path`, exact: true });
        await expect(open).toHaveCount(1);
        const [response] = await Promise.all([
          page.waitForResponse((answer: Response) => new URL(answer.url()).pathname === `/api/path/${sample.name}`),
          open.click(),
        ]);
        await page.waitForURL(`**/api/path/${sample.name}?inline`);
        await page.waitForLoadState('load');

        // The media route opts in to `activeContent: 'sandbox'`: rendered, but in a sandbox
        // with an opaque origin and scripts off (CSP sandbox, W3C CSP3 §6.3.2).
        const headers = await response.allHeaders();
        expect(headers['content-security-policy']).toMatch(/(^|;)\s*sandbox\s*(;|$)/);
        expect(headers['content-disposition']).toMatch(/^inline;/);
        await expect(page.locator('#inert')).toBeVisible();
        await page.screenshot({ path: testInfo.outputPath(`${sample.name}.png`) });
        expect(await page.title()).not.toBe('script ran');
        expect(seen).toEqual({ dialogs: [], probes: [] });
      } finally {
        await rm(file, { force: true });
      }
    });
  }

  test('an SVG handed to nginx (X-Accel-Redirect) reaches the browser as an attachment, not rendered', async ({ page, request }) => {
    const name = samples[0]!.name;
    const file = path.join(mediaRoot, name);
    await mkdir(mediaRoot, { recursive: true });
    await writeFile(file, samples[0]!.content);
    try {
      const url = `${nginxBaseURL}/api/accel/${name}`;
      const response = await request.get(url);
      expect(response.status()).toBe(200);
      expect(await response.text()).toBe(samples[0]!.content);
      // nginx keeps the app's Content-Type and Content-Disposition on the file it sends.
      expect(response.headers()['content-type']).toMatch(/^image\/svg\+xml/);
      expect(response.headers()['content-disposition']).toBe(`attachment; filename=${name}`);
      // The sandbox policy too: nginx.conf copies it (add_header ... $upstream_http_content_security_policy).
      expect(response.headers()['content-security-policy']).toMatch(/(^|;)\s*sandbox\s*(;|$)/);

      const { seen, ran } = watchForScript(page);
      await page.setContent(`<a id="open" href="${url}">open</a>`);
      const [download] = await Promise.all([Promise.race([page.waitForEvent('download'), ran]), page.click('#open')]);
      expect(download.suggestedFilename()).toBe(name);
      expect(seen).toEqual({ dialogs: [], probes: [] });
    } finally {
      await rm(file, { force: true });
    }
  });
});
