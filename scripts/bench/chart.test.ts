import { describe, expect, it } from 'vitest';
import { chartSvg, escapeXml, groups } from './chart';
import { target, type Row } from './report';

const row = (workload: string, contender: string, median: number, unit = 'req/s', kit = false): Row => ({ workload, contender, unit, values: [median], median, kit });

const rows: Row[] = [
  row('4KiB x64', 'constant', 500),
  row('4KiB x64', 'path', 450, 'req/s', true),
  row('4KiB x64', 'public', 2000),
  row('4KiB x64', 'naive', 300),
  row('1MiB x16', 'path', 400, 'req/s', true),
  row('1MiB x16', 'send', 600),
  row('slow x20 on 1GiB', 'path', 30, 'MB rss+', true),
  row('slow x20 on 1GiB', 'send', 40, 'MB rss+'),
  row('numbers.txt 400.0 MB', 'throughput', 650, 'MB/s'),
];

describe('groups', () => {
  it('divides each workload by the constant route where it has one, else by send', () => {
    const [small, medium, slow] = groups(rows);
    expect(small!.reference).toBe('constant');
    expect(small!.bars.map((b) => [b.contender, b.ratio])).toEqual([['constant', 1], ['path', 0.9], ['public', 4], ['naive', 0.6]]);
    expect(medium!.reference).toBe('send');
    expect(medium!.bars.find((b) => b.contender === 'path')!.ratio).toBeCloseTo(2 / 3);
    expect(slow!.lowerIsBetter).toBe(true);
  });

  it('leaves out workloads with no reference', () => {
    expect(groups(rows).map((g) => g.title)).not.toContain('numbers.txt 400.0 MB');
  });
});

describe('chartSvg', () => {
  const svg = chartSvg(rows, [target('4KiB-x64-vs-constant/path', 0.9, '>=', 0.9, 'x', ''), target('numbers.txt-first-byte', 12, '<=', 10, 'ms', '')], {
    date: '2026-12-01 02:00 UTC',
    machine: '2 x Test CPU <fast>, Node v20.20.2, wrk 4.1.0',
    command: 'npm run bench',
  });

  it('is one well-formed svg element with the date and machine in its title', () => {
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('2026-12-01 02:00 UTC, 2 x Test CPU &lt;fast&gt;');
    expect(svg).not.toContain('<fast>');
  });

  it("draws one bar per contender from the 1.0x line on a log scale, the kit's in colour", () => {
    const bars = [...svg.matchAll(/<rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)" height="16" fill="(#[0-9a-f]+)"/g)].map((b) => ({ x: Number(b[1]), width: Number(b[2]), fill: b[3] }));
    expect(bars).toHaveLength(8);
    const [constant, path, publicBar, naive] = bars;
    expect(path!.fill).toBe('#d9480f');
    expect(publicBar!.fill).toBe('#868e96');
    expect(constant!.fill).toBe('#343a40');
    // public (4x) starts at the 1.0x line and goes right; naive (0.6x) ends there.
    const one = constant!.x + 1;
    expect(publicBar!.x).toBeCloseTo(one, 0);
    expect(naive!.x + naive!.width).toBeCloseTo(one, 0);
    // 4x is twice as far from 1.0x as 2x would be: log2(4) / log2(1 / 0.6).
    expect(publicBar!.width / naive!.width).toBeCloseTo(2 / Math.log2(1 / 0.6), 1);
  });

  it('lists the exports and each target, ok or short', () => {
    expect(svg).toContain('numbers.txt 400.0 MB: throughput 650 MB/s');
    expect(svg).toContain('ok: 4KiB-x64-vs-constant/path 0.90x (goal &gt;= 0.9x)');
    expect(svg).toContain('short: numbers.txt-first-byte 12.0 ms (goal &lt;= 10 ms)');
  });
});

describe('escapeXml', () => {
  it('escapes the five XML specials', () => {
    expect(escapeXml(`<a href="x">&'`)).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&apos;');
  });
});
