/**
 * The bench's table as an SVG bar chart, written by hand (no charting dependency): one group per
 * workload, one horizontal bar per contender for the ratio of its median to the workload's
 * reference (the constant Next route where the workload has one, else `send`), drawn from the
 * 1.0x line on a log scale (ratios run from 1/10x to 300x between workloads), the kit's routes in
 * colour and the peers in grey, and the run's date and machine in the title. Workloads without a reference (the exports) and the target lines are listed as text
 * under the bars.
 */
import { formatNumber, type Row, type Target } from './report';

export interface ChartMeta {
  /** e.g. "2026-12-01 02:10 UTC" */
  date: string;
  /** e.g. "2 x AMD EPYC 7B13, Node v20.20.2, wrk 4.1.0" */
  machine: string;
  /** e.g. "npm run bench (3 rounds, medians)" */
  command: string;
}

interface Bar {
  contender: string;
  kit: boolean;
  reference: boolean;
  ratio: number;
  /** The median it came from, e.g. "1,234 req/s". */
  value: string;
}

interface Group {
  title: string;
  /** What the bars are divided by, e.g. "constant" or "send". */
  reference: string;
  /** Higher is better (throughput), or lower (memory growth). */
  lowerIsBetter: boolean;
  bars: Bar[];
}

const COLORS = { kit: '#d9480f', peer: '#868e96', reference: '#343a40', grid: '#dee2e6', text: '#212529', ok: '#2b8a3e', short: '#c92a2a' };
const WIDTH = 900;
const LABEL = 130;
const VALUE = 190;
const BAR_HEIGHT = 16;
const BAR_GAP = 4;
const GROUP_GAP = 18;
const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"';

/** Text for an SVG text node or attribute. */
export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** The rows of each workload, in the order they came, as bars against that workload's reference. */
export function groups(rows: readonly Row[]): Group[] {
  const byWorkload = new Map<string, Row[]>();
  for (const row of rows) byWorkload.set(row.workload, [...(byWorkload.get(row.workload) ?? []), row]);
  const out: Group[] = [];
  for (const [title, list] of byWorkload) {
    const reference = list.find((r) => r.contender.startsWith('constant')) ?? list.find((r) => r.contender === 'send');
    if (!reference || !(reference.median > 0)) continue;
    const lowerIsBetter = reference.unit === 'MB rss+';
    out.push({
      title,
      reference: reference.contender,
      lowerIsBetter,
      bars: list.map((r) => ({
        contender: r.contender,
        kit: Boolean(r.kit),
        reference: r === reference,
        ratio: r.median / reference.median,
        value: `${formatNumber(r.median)} ${r.unit}`,
      })),
    });
  }
  return out;
}

/** Ratios drawn on a log scale (a bar of 2x is as long as one of 0.5x), between these bounds at most. */
const SCALE_MIN = 1 / 64;
const SCALE_MAX = 512;
const TICKS = [1 / 64, 1 / 32, 1 / 16, 1 / 8, 1 / 4, 1 / 2, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512];

const formatRatio = (ratio: number) => (Number.isFinite(ratio) ? `${ratio.toFixed(2)}x` : '-');
const formatTick = (ratio: number) => (ratio >= 1 ? `${ratio}x` : `1/${1 / ratio}x`);

/** An SVG document of the bench's rows and targets. */
export function chartSvg(rows: readonly Row[], targets: readonly Target[], meta: ChartMeta): string {
  const gs = groups(rows);
  const others = [...new Set(rows.map((r) => r.workload))].filter((w) => !gs.some((g) => g.title === w));
  const ratios = gs.flatMap((g) => g.bars.map((b) => b.ratio)).filter((r) => Number.isFinite(r) && r > 0);
  // The axis spans the ratios seen, on whole powers of two, and always 1/2x..2x around the reference.
  const low = Math.max(SCALE_MIN, 2 ** Math.floor(Math.log2(Math.min(0.5, ...ratios))));
  const high = Math.min(SCALE_MAX, 2 ** Math.ceil(Math.log2(Math.max(2, ...ratios))));
  const left = LABEL;
  const right = WIDTH - VALUE - 10;
  const x = (ratio: number) => left + ((Math.log2(Math.min(Math.max(ratio, low), high)) - Math.log2(low)) / (Math.log2(high) - Math.log2(low))) * (right - left);

  const parts: string[] = [];
  let y = 84;
  // The axis: a tick per power of two, labelled at the top.
  const ticks = TICKS.filter((t) => t >= low && t <= high);
  for (const t of ticks) parts.push(`<text x="${x(t).toFixed(1)}" y="${y - 8}" font-size="10" text-anchor="middle" fill="${COLORS.peer}">${formatTick(t)}</text>`);
  const gridTop = y;
  for (const g of gs) {
    const better = g.lowerIsBetter ? 'lower is better' : 'higher is better';
    y += 14;
    parts.push(`<text x="10" y="${y}" font-weight="600" font-size="13">${escapeXml(g.title)}</text>`);
    parts.push(`<text x="${WIDTH - 10}" y="${y}" font-size="11" text-anchor="end" fill="${COLORS.peer}">vs ${escapeXml(g.reference)}, ${better}</text>`);
    y += 6;
    for (const bar of g.bars) {
      const color = bar.reference ? COLORS.reference : bar.kit ? COLORS.kit : COLORS.peer;
      // Bars grow from the 1.0x line: right for more than the reference, left for less.
      const [from, to] = Number.isFinite(bar.ratio) && bar.ratio > 0 ? [x(Math.min(1, bar.ratio)), x(Math.max(1, bar.ratio))] : [x(1), x(1)];
      const width = Math.max(2, to - from);
      const weight = bar.kit ? ' font-weight="600"' : '';
      parts.push(
        `<g><title>${escapeXml(`${g.title} ${bar.contender}: ${bar.value} (${formatRatio(bar.ratio)} ${g.reference})`)}</title>`,
        `<text x="${LABEL - 8}" y="${y + BAR_HEIGHT - 4}" font-size="12" text-anchor="end"${weight}>${escapeXml(bar.contender)}</text>`,
        `<rect x="${(bar.reference ? x(1) - 1 : from).toFixed(1)}" y="${y}" width="${width.toFixed(1)}" height="${BAR_HEIGHT}" fill="${color}" rx="2"/>`,
        `<text x="${right + 10}" y="${y + BAR_HEIGHT - 4}" font-size="11"${weight}>${escapeXml(`${formatRatio(bar.ratio)}  ${bar.value}`)}</text></g>`,
      );
      y += BAR_HEIGHT + BAR_GAP;
    }
    y += GROUP_GAP - BAR_GAP;
  }
  // Grid lines behind the bars (drawn first), the 1.0x line stronger.
  const grid = ticks.map(
    (t) => `<line x1="${x(t).toFixed(1)}" y1="${gridTop - 4}" x2="${x(t).toFixed(1)}" y2="${y - GROUP_GAP + 4}" stroke="${t === 1 ? COLORS.text : COLORS.grid}"${t === 1 ? ' stroke-dasharray="4 3"' : ''}/>`,
  );

  const lines: Array<{ text: string; color?: string }> = [];
  for (const workload of others) {
    const list = rows.filter((r) => r.workload === workload);
    lines.push({ text: `${workload}: ${list.map((r) => `${r.contender} ${formatNumber(r.median)} ${r.unit}`).join(', ')}` });
  }
  for (const t of targets) {
    const value = t.unit === 'x' ? formatRatio(t.value) : `${formatNumber(t.value)} ${t.unit}`;
    lines.push({ text: `${t.ok ? 'ok' : 'short'}: ${t.name} ${value} (goal ${t.op} ${t.goal}${t.unit === 'x' ? 'x' : ` ${t.unit}`})`, color: t.ok ? COLORS.ok : COLORS.short });
  }
  if (lines.length > 0) {
    y += 6;
    parts.push(`<text x="10" y="${y}" font-weight="600" font-size="13">exports and targets</text>`);
    y += 18;
    for (const line of lines) {
      parts.push(`<text x="10" y="${y}" font-size="11" font-family="ui-monospace, Menlo, Consolas, monospace"${line.color ? ` fill="${line.color}"` : ''}>${escapeXml(line.text)}</text>`);
      y += 15;
    }
  }

  const height = y + 10;
  const legend = [
    [COLORS.kit, "the kit's routes"],
    [COLORS.peer, 'peers'],
    [COLORS.reference, 'reference (1.0x)'],
  ]
    .map(([color, label], i) => `<rect x="${10 + i * 150}" y="50" width="10" height="10" fill="${color}"/><text x="${24 + i * 150}" y="59" font-size="11">${label}</text>`)
    .join('');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" ${FONT} fill="${COLORS.text}">`,
    `<title>${escapeXml(`next-downloadview bench, ${meta.date}, ${meta.machine}`)}</title>`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="10" y="20" font-size="15" font-weight="600">${escapeXml(`next-downloadview bench, ${meta.date}`)}</text>`,
    `<text x="10" y="38" font-size="11" fill="${COLORS.peer}">${escapeXml(`${meta.machine}; ${meta.command}; bars: median / the workload's reference, log scale`)}</text>`,
    legend,
    ...grid,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
