import type { NextConfig } from 'next';

const nextConfig: NextConfig = {
  poweredByHeader: false,
  // Downloads carry `Cache-Control: no-transform`, which keeps Next's compression off them
  // (a gzipped 206 would make Content-Range lie); pages are still compressed.
  compress: true,
  // The build checks the app's own types; tests, scripts and the route-type test are checked
  // by `tsc` in `npm test`, so a work-in-progress test cannot break a build.
  typescript: { tsconfigPath: 'tsconfig.build.json' },
};

export default nextConfig;
