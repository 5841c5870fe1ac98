import type { NextConfig } from 'next';

const nextConfig: NextConfig = {
  poweredByHeader: false,
  // Downloads carry `Cache-Control: no-transform`, which keeps Next's compression off them
  // (a gzipped 206 would make Content-Range lie); pages are still compressed.
  compress: true,
};

export default nextConfig;
