/** The bench's results: rows of medians, target lines, and the table they print as. */

export interface Row {
  /** e.g. "1GiB x1" */
  workload: string;
  contender: string;
  /** One of the kit's own routes. */
  kit?: boolean;
  unit: string;
  /** One value per round. */
  values: number[];
  median: number;
  /** Ratio of the median to the peer's (`send`) median in the same workload. */
  vsSend?: number;
  /** Ratio of the median to the constant Next route's median (the framework's floor). */
  vsFloor?: number;
  /** Server CPU, e.g. "1.23 s/GiB" or "85 µs/req". */
  cpu?: string;
  /** Anything that went wrong or needs saying (errors, partial bodies). */
  note?: string;
}

export interface Target {
  name: string;
  value: number;
  goal: number;
  op: '>=' | '<=';
  unit: 'x' | 'ms' | 'MB/s' | 'MB' | 'fds';
  ok: boolean;
  /** How it was computed, for the JSON. */
  detail: string;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function target(name: string, value: number, op: Target['op'], goal: number, unit: Target['unit'], detail: string): Target {
  const ok = Number.isFinite(value) && (op === '>=' ? value >= goal : value <= goal);
  return { name, value, goal, op, unit, ok, detail };
}

/** Numbers as a person reads them: 3 significant digits, thousands grouped. */
export function formatNumber(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '-';
  const abs = Math.abs(value);
  if (abs >= 1000) return Math.round(value).toLocaleString('en-US');
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

function formatTargetValue(value: number, unit: Target['unit']): string {
  if (unit === 'x') return `${Number.isFinite(value) ? value.toFixed(2) : '-'}x`;
  if (unit === 'fds') return `${value >= 0 ? '+' : ''}${value} fds`;
  return `${formatNumber(value)} ${unit}`;
}

function formatGoal(goal: number, unit: Target['unit']): string {
  // 0.95x stays 0.95x; 1.5x is not padded to 1.50x.
  if (unit === 'x') return `${Number(goal.toFixed(2))}x`;
  if (unit === 'fds') return `${goal >= 0 ? '+' : ''}${goal} fds`;
  return `${goal} ${unit}`;
}

/** `target <name> <value> (goal >= X) ok|short` */
export function targetLine(t: Target, enforced: boolean): string {
  return `target ${t.name} ${formatTargetValue(t.value, t.unit)} (goal ${t.op} ${formatGoal(t.goal, t.unit)}) ${t.ok ? 'ok' : 'short'}${enforced ? '' : ' [smoke: not enforced]'}`;
}

const ratio = (value: number | undefined) => (value === undefined || !Number.isFinite(value) ? '-' : `${value.toFixed(2)}x`);

/** A plain-text table, one row per (workload, contender). */
export function table(rows: readonly Row[]): string {
  const header = ['workload', 'contender', 'median', 'unit', 'rounds (min..max)', 'vs send', 'vs floor', 'server cpu', 'note'];
  const body = rows.map((r) => {
    const finite = r.values.filter((v) => Number.isFinite(v));
    const spread = finite.length > 1 ? `${formatNumber(Math.min(...finite))}..${formatNumber(Math.max(...finite))}` : `n=${finite.length}`;
    return [r.workload, r.contender, formatNumber(r.median), r.unit, spread, ratio(r.vsSend), ratio(r.vsFloor), r.cpu ?? '', r.note ?? ''];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((cells) => cells[i]!.length)));
  const numeric = new Set([2, 4, 5, 6]);
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (numeric.has(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const out = [line(header), widths.map((w) => '-'.repeat(w)).join('  ')];
  let previous = '';
  for (const [i, cells] of body.entries()) {
    if (rows[i]!.workload !== previous && previous !== '') out.push('');
    previous = rows[i]!.workload;
    out.push(line(cells));
  }
  return out.join('\n');
}
