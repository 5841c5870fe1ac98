import type { NextConfig } from 'next';

/**
 * `npm run bench` serves the demo with three peer routes of its own (the constant 4 KiB floor,
 * the same under a catch-all segment, and a naive file route), the `route.bench.ts` files under
 * app/api/bench. They are routes only in the bench's build (BENCH_ROUTES=1), which goes to
 * .next-bench; the demo's build in .next, and so its route list, never has them.
 */
const benchBuild = process.env.BENCH_ROUTES === '1';

const nextConfig: NextConfig = {
  poweredByHeader: false,
  // Downloads carry `Cache-Control: no-transform`, which keeps Next's compression off them
  // (a gzipped 206 would make Content-Range lie); pages are still compressed.
  compress: true,
  // The build checks the app's own types; tests, scripts and the route-type test are checked
  // by `tsc` in `npm test`, so a work-in-progress test cannot break a build.
  typescript: { tsconfigPath: 'tsconfig.build.json' },
  ...(benchBuild ? { distDir: '.next-bench', pageExtensions: ['bench.ts', 'tsx', 'ts', 'jsx', 'js'] } : {}),
};

export default nextConfig;
