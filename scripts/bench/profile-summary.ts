/**
 * Where a V8 CPU profile (`npm run bench -- --cpu-prof`, bench-results/profiles/*.cpuprofile)
 * spends its time: self time by function and by area (the kit, Next, Node internals, GC).
 *
 *   npx tsx scripts/bench/profile-summary.ts <file>.cpuprofile [--top N] [--from S] [--to S] [--callers NAME [--depth N]] [--inclusive]
 *
 * --from/--to keep only the samples in that window (seconds since the profile started), to leave
 * start-up (module loading, the first requests) out of a steady-state picture. --callers shows
 * the stacks (5 frames up) that lead to the functions named NAME.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

function area(url: string, name: string): string {
  if (name === '(garbage collector)') return 'GC';
  if (name === '(idle)') return 'idle';
  if (name === '(program)') return 'program (native, unattributed)';
  if (url === '') return 'native';
  if (url.includes('/lib/') && !url.includes('node_modules')) return 'kit (lib/)';
  if (url.includes('.next/server/chunks') || url.includes('.next/server/app')) return 'app bundle (.next/server: kit + route code)';
  if (url.includes('node_modules/next/')) return 'next';
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  return url.replace(/^file:\/\//, '').split('/').slice(-2).join('/');
}

const argv = process.argv.slice(2);
const flag = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv.splice(i, 2)[1] : undefined;
};
const [top, fromArg, toArg, callers, depth] = [Number(flag('--top') ?? 30), flag('--from'), flag('--to'), flag('--callers'), Number(flag('--depth') ?? 5)];
const inclusiveWanted = argv.includes('--inclusive');
if (inclusiveWanted) argv.splice(argv.indexOf('--inclusive'), 1);
const file = argv[0];
if (!file) {
  console.error('usage: tsx scripts/bench/profile-summary.ts <file.cpuprofile> [--top N] [--from S] [--to S] [--callers NAME]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const from = Number(fromArg ?? 0) * 1e6;
const to = toArg === undefined ? Infinity : Number(toArg) * 1e6;
const selfMs = new Map<number, number>();
let at = 0;
for (let i = 0; i < profile.samples.length; i++) {
  const delta = profile.timeDeltas[i] ?? 0;
  at += delta;
  if (at < from || at > to) continue;
  const id = profile.samples[i]!;
  selfMs.set(id, (selfMs.get(id) ?? 0) + delta / 1000);
}

const byFunction = new Map<string, number>();
const byArea = new Map<string, number>();
let total = 0;
let idle = 0;
for (const [id, ms] of selfMs) {
  const node = byId.get(id)!;
  const { functionName, url, lineNumber } = node.callFrame;
  const name = functionName || '(anonymous)';
  const a = area(url, name);
  if (a === 'idle') {
    idle += ms;
    continue;
  }
  total += ms;
  const key = `${name}  ${url ? `${url.replace(/^file:\/\//, '').split('/').slice(-3).join('/')}:${lineNumber + 1}` : ''}`;
  byFunction.set(key, (byFunction.get(key) ?? 0) + ms);
  byArea.set(a, (byArea.get(a) ?? 0) + ms);
}

const wall = Math.min(profile.endTime - profile.startTime, to) / 1000 - from / 1000;
console.log(`${file}\nwall ${(wall / 1000).toFixed(1)} s, busy ${(total / 1000).toFixed(1)} s, idle ${(idle / 1000).toFixed(1)} s\n`);
const print = (title: string, map: Map<string, number>, n: number) => {
  console.log(title);
  for (const [key, ms] of [...map].sort((a, b) => b[1] - a[1]).slice(0, n)) {
    console.log(`${((ms / total) * 100).toFixed(1).padStart(5)}%  ${(ms / 1000).toFixed(2).padStart(7)} s  ${key}`);
  }
  console.log('');
};
print('self time by area (share of busy time)', byArea, 20);
print(`self time by function, top ${top}`, byFunction, top);

// Inclusive ("total") time: a function's own samples and those of everything it called.
{
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const inclusive = new Map<string, number>();
  for (const [id, ms] of selfMs) {
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const { functionName, url, lineNumber } = byId.get(at)!.callFrame;
      if (!url || functionName === '(root)') continue;
      const key = `${functionName || '(anonymous)'}  ${url.replace(/^file:\/\//, '').split('/').slice(-3).join('/')}:${lineNumber + 1}`;
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + ms);
    }
  }
  if (inclusiveWanted) print(`total (inclusive) time by function, top ${top}`, inclusive, top);
}

if (callers) {
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const frame = (id: number) => {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    return `${functionName || '(anonymous)'}${url ? ` ${url.split('/').slice(-2).join('/')}:${lineNumber + 1}` : ''}`;
  };
  const stacks = new Map<string, number>();
  for (const [id, ms] of selfMs) {
    if (byId.get(id)!.callFrame.functionName !== callers) continue;
    const chain: string[] = [];
    for (let at = parent.get(id); at !== undefined && chain.length < depth; at = parent.get(at)) chain.push(frame(at));
    const key = chain.join('  <  ');
    stacks.set(key, (stacks.get(key) ?? 0) + ms);
  }
  print(`stacks leading to ${callers}`, stacks, 15);
}
