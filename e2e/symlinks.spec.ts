import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { mediaRoot } from './helpers';

// Symlink loops and links out of the media folder of the running production demo: the home
// page lists the folder through media.list(), which must neither follow them (a loop used to
// walk until memory ran out) nor list what lies outside the root.
//   media/docs/up -> ..          a loop through the parent
//   media/loop-a -> loop-b, media/loop-b -> loop-a
//   media/loops/x -> ., media/loops/y -> .   two loops that multiply each other
//   media/etc -> /etc            a folder out of the root

const links: Array<[target: string, link: string]> = [
  ['..', 'docs/up'],
  ['loop-b', 'loop-a'],
  ['loop-a', 'loop-b'],
  ['.', 'loops/x'],
  ['.', 'loops/y'],
  ['/etc', 'etc'],
];

test.describe('the media folder with symlink loops', () => {
  test.beforeAll(async () => {
    await mkdir(path.join(mediaRoot, 'loops'), { recursive: true });
    for (const [target, link] of links) {
      await rm(path.join(mediaRoot, link), { force: true });
      await symlink(target, path.join(mediaRoot, link));
    }
  });

  test.afterAll(async () => {
    for (const [, link] of links) await rm(path.join(mediaRoot, link), { force: true });
    await rm(path.join(mediaRoot, 'loops'), { recursive: true, force: true });
  });

  test('GET / answers promptly, listing each real file once and nothing outside the root', async ({ request }) => {
    const started = Date.now();
    const response = await request.get('/', { timeout: 15_000 });
    const elapsed = Date.now() - started;
    expect(response.status()).toBe(200);
    expect(elapsed).toBeLessThan(10_000);
    const html = await response.text();
    expect(html).toContain('/api/path/docs/guide.md');
    expect(html).not.toMatch(/\/api\/path\/docs\/up\//);
    expect(html).not.toMatch(/\/api\/path\/(loop-a|loop-b|loops)\//);
    expect(html).not.toMatch(/\/api\/path\/etc\//);
    expect(html).not.toContain('passwd');
  });

  test('stays responsive: ten listings in a row each answer promptly', async ({ request }) => {
    for (let index = 0; index < 10; index++) {
      const started = Date.now();
      const response = await request.get('/', { timeout: 15_000 });
      expect(response.status()).toBe(200);
      expect(Date.now() - started).toBeLessThan(10_000);
    }
  });

  test('serves nothing outside the root through a link', async ({ request }) => {
    const response = await request.get('/api/path/etc/passwd');
    expect(response.status()).toBe(404);
    expect(await response.text()).not.toContain('root:');
  });
});

test.describe('a media folder with more files than a page should list', () => {
  const crowd = path.join(mediaRoot, 'crowd');

  test.beforeAll(async () => {
    await mkdir(crowd, { recursive: true });
    await Promise.all(Array.from({ length: 700 }, (_, i) => writeFile(path.join(crowd, `f${String(i).padStart(4, '0')}.txt`), '')));
  });

  test.afterAll(async () => {
    await rm(crowd, { recursive: true, force: true });
  });

  test('GET / lists a bounded number of them and says so', async ({ page }) => {
    await page.goto('/');
    await expect(page.getByTestId('media-truncated')).toBeVisible();
    const listed = await page.locator('#media a[href^="/api/path/crowd/"]:not(.button)').count();
    expect(listed).toBeGreaterThan(0);
    expect(listed).toBeLessThanOrEqual(500);
  });
});
