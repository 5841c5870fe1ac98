/**
 * What a workload gets from the bench, and what it gives back. A workload is one file under
 * scripts/bench/workloads/, registered in the list of workloads/index.ts; `--only` takes its id.
 */
import type { BenchConfig } from './config';
import type { Context, Contender, Entrant, TestFile } from './measure';
import { target, type Row, type Target } from './report';
import type { RunningServer } from './servers';

/** Everything started and prepared before the first measurement. */
export interface Bench {
  ctx: Context;
  config: BenchConfig;
  /** The repository. */
  root: string;
  /** This run's temporary folder (media, databases, nginx) under bench-results/. */
  tempDir: string;
  /** Generated test files, kept between runs. */
  cacheDir: string;
  quiet: boolean;
  files: { big: TestFile; medium: TestFile; small: TestFile };
  /** The demo's production server, built with the bench's peer routes. */
  kit: RunningServer;
  send: RunningServer;
  /** Every way to get a file in this run, in the order of the table. */
  contenders: Contender[];
}

export interface WorkloadResult {
  rows: Row[];
  targets?: Target[];
}

export interface Workload {
  /** Its name for `--only`. */
  id: string;
  /**
   * Runs before any workload measures (and before `runFirst` ones), for setup that would
   * disturb a measurement: uploads through the demo, for instance.
   */
  prepare?(bench: Bench): Promise<void>;
  /** Measured before all others, on servers that have not served anything big yet. */
  runFirst?: boolean;
  run(bench: Bench): Promise<WorkloadResult>;
}

/** The kit's own routes, which the targets are about. */
export const KIT_ROUTES = ['path', 'storage', 'files'] as const;

/** One entrant per contender that takes part in workload `id` and can serve `file`. */
export function entrantsFor(bench: Bench, id: string, file: TestFile, make: (contender: Contender, url: string) => Entrant | undefined): Entrant[] {
  return bench.contenders.flatMap((contender) => {
    if (contender.workloads && !contender.workloads.includes(id)) return [];
    const url = contender.url(file);
    const entrant = url === undefined ? undefined : make(contender, url);
    return entrant ? [entrant] : [];
  });
}

/**
 * The framework's floors on the kit's server: the constant 4 KiB route, and the same under a
 * catch-all segment, as every kit route is (app/api/bench/constant, a route of the bench's build only).
 */
export function floors(bench: Bench, name: string, status = 200, bytes?: number): Entrant[] {
  const floor = (label: string, url: string): Entrant => ({
    contender: { name: label, server: bench.kit, url: () => url },
    url,
    check: { kind: 'status', status, bytes },
  });
  return [floor(name, `${bench.kit.base}/api/bench/constant`), floor(`${name} [...path]`, `${bench.kit.base}/api/bench/constant/bench/small.bin`)];
}

/** One `>=` target per kit route: its median over the `against` contender's, in the same workload. */
export function ratioTargets(rows: readonly Row[], against: string, goal: number, prefix: string): Target[] {
  const reference = rows.find((r) => r.contender === against);
  if (!reference) return [];
  return KIT_ROUTES.flatMap((name) => {
    const row = rows.find((r) => r.contender === name);
    return row ? [target(`${prefix}/${name}`, row.median / reference.median, '>=', goal, 'x', `median ${row.workload} ${name} / ${against}`)] : [];
  });
}
