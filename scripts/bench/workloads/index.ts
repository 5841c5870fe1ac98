/**
 * The bench's workloads, in the order of its table and targets. To add one: write a file here
 * exporting a `Workload` (scripts/bench/bench.ts: an id, `run`, and `prepare` for setup that
 * must not disturb a measurement), then add it to this list; `--only` takes its id.
 */
import type { Workload } from '../bench';
import { big } from './big';
import { exportNumbers } from './export';
import { head } from './head';
import { medium } from './medium';
import { notModified } from './not-modified';
import { precompressed } from './precompressed';
import { range } from './range';
import { rate } from './rate';
import { s3 } from './s3';
import { slow } from './slow';
import { slowLimited } from './slow-limited';
import { small } from './small';
import { zip } from './zip';
import { zipResume } from './zip-resume';

export const WORKLOADS: readonly Workload[] = [big, medium, small, range, head, notModified, exportNumbers, zip, zipResume, s3, slow, slowLimited, rate, precompressed];
