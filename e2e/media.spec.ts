import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { e2eBaseURL, mediaRoot } from './helpers';
import { nginxBaseURL } from './offload-helpers';
import { s3DemoBaseURL, s3Endpoint } from './s3-helpers';

// A video served by the kit, played and seeked by Chromium's own player: to near its end and back,
// by the app (pathDownload), by nginx (X-Accel-Redirect offload) and by the S3-compatible store
// (a 307 to a presigned URL). The video is the one the demo's start wrote with ffmpeg
// (scripts/sample-media.mjs): 30 s, about 3 MB, far more than a player reads before it starts,
// so the seek near the end needs bytes the player does not have yet.

const VIDEO = 'video/test-pattern.webm';
const AUDIO = 'audio/tone.ogg';

/** One answer the player got for the media URL. */
interface MediaAnswer {
  url: string;
  status: number;
  range: string | undefined;
  contentRange: string | undefined;
  contentType: string | undefined;
}

/**
 * Records the answers to every request whose URL `matches`, as the browser saw them (the request's
 * headers as sent, a redirect's target included). Read them with `await answers()`.
 */
function recordAnswers(page: Page, matches: (url: string) => boolean): () => Promise<MediaAnswer[]> {
  const answers: Promise<MediaAnswer>[] = [];
  page.on('response', (response) => {
    if (!matches(response.url())) return;
    answers.push(
      response.request().allHeaders().then((sent) => ({
        url: response.url(),
        status: response.status(),
        range: sent['range'],
        contentRange: response.headers()['content-range'],
        contentType: response.headers()['content-type'],
      })),
    );
  });
  return () => Promise.all(answers);
}

/**
 * A link of 1 MB/s instead of loopback's gigabytes: a player on a real network never holds a
 * whole 3 MB video a second after it starts, so a seek near its end must ask for those bytes
 * (over loopback nginx sent the whole file into the first answer before the player looked).
 */
async function throttle(page: Page): Promise<void> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 5, downloadThroughput: 1_000_000, uploadThroughput: -1 });
}

/** Where a 206 starts, from its Content-Range (`bytes 123-456/789`). */
function rangeStart(answer: MediaAnswer): number {
  const match = /^bytes (\d+)-\d+\/\d+$/.exec(answer.contentRange ?? '');
  if (!match) throw new Error(`not a single-range answer: ${JSON.stringify(answer)}`);
  return Number(match[1]);
}

/** What the player says: where it is, how much it holds, and its error if any. */
interface PlayerState {
  currentTime: number;
  duration: number;
  readyState: number;
  error: string | null;
}

/**
 * Runs `step` on the page's element matching `selector`, then waits for `event` on it (or an
 * `error` event, which fails the test with the player's message), and returns the player's state.
 */
async function stepPlayer(page: Page, selector: string, step: 'play' | 'metadata' | { seek: number } | { playUntil: number }): Promise<PlayerState> {
  return page.evaluate(
    async ({ selector, step }) => {
      const player = document.querySelector<HTMLMediaElement>(selector);
      if (!player) throw new Error(`no player ${selector}`);
      const failed = () => new Error(`media error ${player.error?.code}: ${player.error?.message}`);
      const until = (event: string, done: () => boolean) =>
        new Promise<void>((resolve, reject) => {
          if (player.error) return reject(failed());
          if (done()) return resolve();
          const check = () => {
            if (!done()) return;
            player.removeEventListener(event, check);
            resolve();
          };
          player.addEventListener(event, check);
          player.addEventListener('error', () => reject(failed()), { once: true });
        });
      if (step === 'metadata') {
        await until('loadedmetadata', () => player.readyState >= HTMLMediaElement.HAVE_METADATA);
      } else if (step === 'play' || 'playUntil' in step) {
        const target = step === 'play' ? player.currentTime + 1 : step.playUntil;
        // Muted: headless Chromium plays without a gesture only then (autoplay policy).
        player.muted = true;
        await player.play();
        await until('timeupdate', () => player.currentTime >= target);
        player.pause();
      } else {
        let seeked = false;
        player.addEventListener('seeked', () => (seeked = true), { once: true });
        player.currentTime = step.seek;
        await until('seeked', () => seeked);
        // The frame at the new time is decoded and shown.
        await until('canplay', () => player.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA);
      }
      return { currentTime: player.currentTime, duration: player.duration, readyState: player.readyState, error: player.error?.message ?? null };
    },
    { selector, step },
  );
}

/**
 * Plays a second of the video, seeks to a second before its end and back to 2 s, and plays on
 * from there; checks at each step that the player is where it was sent, with no error.
 */
async function playAndSeek(page: Page, selector: string): Promise<void> {
  const loaded = await stepPlayer(page, selector, 'metadata');
  expect(loaded.duration).toBeGreaterThan(29);
  expect(loaded.duration).toBeLessThan(31);
  const played = await stepPlayer(page, selector, 'play');
  expect(played.currentTime).toBeGreaterThanOrEqual(1);
  const nearEnd = loaded.duration - 1;
  const atEnd = await stepPlayer(page, selector, { seek: nearEnd });
  expect(atEnd).toMatchObject({ error: null });
  expect(atEnd.currentTime).toBeCloseTo(nearEnd, 1);
  expect(atEnd.readyState).toBeGreaterThanOrEqual(2);
  const back = await stepPlayer(page, selector, { seek: 2 });
  expect(back).toMatchObject({ error: null });
  expect(back.currentTime).toBeCloseTo(2, 1);
  const again = await stepPlayer(page, selector, { playUntil: 2.5 });
  expect(again).toMatchObject({ error: null });
  expect(again.currentTime).toBeGreaterThanOrEqual(2.5);
}

/**
 * The byte answers behind the playback: every one a 206 of the video with a Content-Range over
 * its whole size (never the whole file again as a 200 for a seek), one of them asked by the seek
 * for bytes in the last third of the file.
 */
function expectRangesOnly(answers: MediaAnswer[], size: number): void {
  expect(answers.length, JSON.stringify(answers)).toBeGreaterThanOrEqual(2);
  for (const answer of answers) {
    expect(answer, JSON.stringify(answer)).toMatchObject({
      status: 206,
      range: expect.stringMatching(/^bytes=\d+-\d*$/),
      contentRange: expect.stringMatching(new RegExp(`^bytes \\d+-\\d+/${size}$`)),
      contentType: 'video/webm',
    });
  }
  expect(Math.max(...answers.map(rangeStart)), JSON.stringify(answers)).toBeGreaterThan((2 * size) / 3);
}

/** Puts a <video> for `src` into the page (without loading a byte before the test listens). */
async function addVideo(page: Page, src: string): Promise<string> {
  await page.evaluate((src) => {
    const video = document.createElement('video');
    video.id = 'under-test';
    video.preload = 'metadata';
    video.controls = true;
    video.src = src;
    document.body.append(video);
  }, src);
  return '#under-test';
}

let videoSize: number;

test.beforeAll(async () => {
  const file = path.join(mediaRoot, VIDEO);
  const found = await stat(file).catch(() => undefined);
  if (!found) throw new Error(`${file} is missing: the demo writes it at start with ffmpeg (node scripts/ensure-ffmpeg.mjs installs it)`);
  videoSize = found.size;
});

test.describe('the media players of the demo page', () => {
  test('list the sample video and audio file with an inline player each, and no other file', async ({ page }) => {
    await page.goto('/');
    const players = page.locator('#media .players');
    await expect(players.locator('video')).toHaveCount(1);
    await expect(players.locator('audio')).toHaveCount(1);
    await expect(page.getByRole('region', { name: 'Media folder' }).getByLabel(`Play ${VIDEO}`)).toHaveAttribute('src', `/api/path/${VIDEO}?inline`);
    await expect(page.getByLabel(`Play ${AUDIO}`)).toHaveAttribute('src', `/api/path/${AUDIO}?inline`);
  });

  test('the video is served inline as video/webm, ranges and all (pathDownload)', async ({ page }) => {
    const answers = recordAnswers(page, (url) => new URL(url).pathname === `/api/path/${VIDEO}`);
    await throttle(page);
    await page.goto('/');
    await playAndSeek(page, `video[aria-label="Play ${VIDEO}"]`);
    expectRangesOnly(await answers(), videoSize);
    expect((await answers()).every((answer) => answer.url === `${e2eBaseURL}/api/path/${VIDEO}?inline`)).toBe(true);
  });

  test('the audio file plays', async ({ page, request }) => {
    await page.goto('/');
    const selector = `audio[aria-label="Play ${AUDIO}"]`;
    const loaded = await stepPlayer(page, selector, 'metadata');
    expect(loaded.duration).toBeCloseTo(10, 0);
    const played = await stepPlayer(page, selector, 'play');
    expect(played).toMatchObject({ error: null });
    const head = await request.head(`/api/path/${AUDIO}?inline`);
    expect(head.headers()['content-type']).toBe('audio/ogg');
    expect(head.headers()['content-disposition']).toMatch(/^inline; filename="?tone\.ogg"?$/);
    // A media type is not active content: no sandbox policy on it.
    expect(head.headers()['content-security-policy']).toBeUndefined();
  });
});

test.describe('a video played and seeked through nginx (X-Accel-Redirect)', () => {
  test('nginx answers every range of the seeks with a 206 of the file the app named', async ({ page, request }) => {
    const url = `/api/accel/${VIDEO}?inline`;
    // The app itself only names the file.
    const handedOver = await request.get(`${e2eBaseURL}${url}`, { headers: { range: 'bytes=0-' } });
    expect(handedOver.headers()['x-accel-redirect']).toBe(`/_protected/${VIDEO}`);
    expect(await handedOver.body()).toHaveLength(0);

    const answers = recordAnswers(page, (answer) => new URL(answer).pathname === `/api/accel/${VIDEO}`);
    await page.goto(`${nginxBaseURL}/`);
    await throttle(page);
    await playAndSeek(page, await addVideo(page, url));
    expectRangesOnly(await answers(), videoSize);
    expect((await answers()).every((answer) => answer.url.startsWith(nginxBaseURL))).toBe(true);
  });
});

test.describe('a video played and seeked through S3 redirect delivery', () => {
  test('the app answers 307 to a presigned URL, and the store answers every range with a 206', async ({ page, request }) => {
    const bytes = await readFile(path.join(mediaRoot, VIDEO));
    const uploaded = await request.post(`${s3DemoBaseURL}/api/files`, {
      multipart: { file: { name: 'test-pattern.webm', mimeType: 'video/webm', buffer: bytes } },
    });
    expect(uploaded.status(), await uploaded.text()).toBe(201);
    const { id, contentType } = (await uploaded.json()) as { id: number; contentType: string };
    // Checked from the bytes (file-type): the store will send it as a video.
    expect(contentType).toBe('video/webm');
    try {
      const url = `/api/files/${id}?inline`;
      const redirect = await request.get(`${s3DemoBaseURL}${url}`, { maxRedirects: 0, headers: { range: 'bytes=0-' } });
      expect(redirect.status()).toBe(307);
      expect(redirect.headers()['location']!.startsWith(`${s3Endpoint}/`)).toBe(true);

      const fromApp = recordAnswers(page, (answer) => answer.startsWith(`${s3DemoBaseURL}/api/files/${id}`));
      const fromStore = recordAnswers(page, (answer) => answer.startsWith(`${s3Endpoint}/`));
      await page.goto(`${s3DemoBaseURL}/`);
      await throttle(page);
      await playAndSeek(page, await addVideo(page, url));
      // The app only redirects (never a byte of the video); the store sends the ranges.
      const redirects = await fromApp();
      expect(redirects.length).toBeGreaterThanOrEqual(1);
      for (const answer of redirects) expect(answer.status, JSON.stringify(answer)).toBe(307);
      expectRangesOnly(await fromStore(), bytes.length);
    } finally {
      expect((await request.delete(`${s3DemoBaseURL}/api/files/${id}`)).status()).toBe(204);
    }
  });
});
