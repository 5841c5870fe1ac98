import { afterEach, describe, expect, it, vi } from 'vitest';

/** next.config.ts as Next reads it with the environment given. */
async function configWith(benchRoutes: string | undefined) {
  vi.resetModules();
  vi.stubEnv('BENCH_ROUTES', benchRoutes);
  return (await import('../../next.config')).default;
}

/** Whether Next takes `file` as a route under these page extensions (app/<...>/route.<ext>). */
const isRoute = (file: string, extensions: readonly string[]) => extensions.some((ext) => file === `route.${ext}`);
const DEFAULT_EXTENSIONS = ['tsx', 'ts', 'jsx', 'js'];

describe("the bench's routes", () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it("are no routes of the demo's build, which goes to .next", async () => {
    const config = await configWith(undefined);
    expect(config.distDir ?? '.next').toBe('.next');
    expect(isRoute('route.bench.ts', config.pageExtensions ?? DEFAULT_EXTENSIONS)).toBe(false);
    expect(isRoute('route.ts', config.pageExtensions ?? DEFAULT_EXTENSIONS)).toBe(true);
  });

  it("are routes of the bench's build (BENCH_ROUTES=1), which goes to .next-bench beside it", async () => {
    const config = await configWith('1');
    expect(config.distDir).toBe('.next-bench');
    expect(isRoute('route.bench.ts', config.pageExtensions!)).toBe(true);
    expect(isRoute('route.ts', config.pageExtensions!)).toBe(true);
  });
});
