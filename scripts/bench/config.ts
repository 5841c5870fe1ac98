/** The two ways the bench runs: the full measurement and the smoke that `npm test` runs. */

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;
export const MB = 1e6;

export interface BenchConfig {
  mode: 'full' | 'smoke';
  /** The three test files: "1 GiB", "1 MiB" and "4 KiB" in the full bench. */
  sizes: { big: number; medium: number; small: number };
  /** Bytes per Range request. */
  rangeSize: number;
  rounds: number;
  /** Seconds of load per measurement, per workload (wrk counts whole seconds). */
  seconds: { big: number; medium: number; small: number; range: number; head: number; notModified: number };
  /**
   * Seconds of load per contender before the rounds (JIT, connection pools); 0 = none. Next's
   * production server takes ~8 s of load to reach its speed on a route (1 MiB x16 on this box:
   * 540, 860, 950, 970, 1,060 req/s in its first five 2-second runs): with 1 s of warm-up its
   * first rounds measured a cold server against a warm `send`.
   */
  warmupSeconds: number;
  /** Run a workload's contenders at the same time (smoke only: fast, but nothing is comparable). */
  parallel: boolean;
  /**
   * Cap on connections per load (smoke: a handful, so that requests complete within its one-second
   * runs while every contender is loaded at once).
   */
  maxConnections: number;
  /** Target size of the generated numbers.txt export. */
  exportBytes: number;
  /** Files uploaded for files.zip besides the seeded ones (only when the zip workload runs). */
  zipFiles: { count: number; size: number };
  slow: { clients: number; bytesPerSecond: number; seconds: number };
  /** Whether short targets make the run fail (never: the bench reports; `--strict` turns it on). */
  enforceTargets: boolean;
}

export const FULL: BenchConfig = {
  mode: 'full',
  sizes: { big: GiB, medium: MiB, small: 4 * KiB },
  rangeSize: 64 * KiB,
  rounds: 3,
  seconds: { big: 4, medium: 3, small: 2, range: 3, head: 2, notModified: 2 },
  warmupSeconds: 5,
  parallel: false,
  maxConnections: Infinity,
  exportBytes: 400 * MB,
  zipFiles: { count: 4, size: 64 * MiB },
  slow: { clients: 20, bytesPerSecond: MB, seconds: 30 },
  enforceTargets: false,
};

export const SMOKE: BenchConfig = {
  mode: 'smoke',
  sizes: { big: 2 * MiB, medium: 64 * KiB, small: 4 * KiB },
  rangeSize: 64 * KiB,
  rounds: 1,
  seconds: { big: 1, medium: 1, small: 1, range: 1, head: 1, notModified: 1 },
  warmupSeconds: 0,
  parallel: true,
  maxConnections: 4,
  exportBytes: 600 * 1000,
  zipFiles: { count: 2, size: 64 * KiB },
  slow: { clients: 20, bytesPerSecond: MB, seconds: 1 },
  enforceTargets: false,
};

export function formatSize(bytes: number): string {
  if (bytes >= GiB && bytes % GiB === 0) return `${bytes / GiB}GiB`;
  if (bytes >= MiB && bytes % MiB === 0) return `${bytes / MiB}MiB`;
  if (bytes >= KiB && bytes % KiB === 0) return `${bytes / KiB}KiB`;
  return `${bytes}B`;
}
