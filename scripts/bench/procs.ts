/**
 * Child processes the bench starts (servers, load generators), stopped on every way out, and
 * what /proc says about a server: CPU time, resident memory, open file descriptors.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const started = new Set<ChildProcess>();

/**
 * Spawns a process in a process group of its own (so that it, and whatever it starts, can be
 * stopped together), and remembers it until it exits.
 */
export function spawnTracked(command: string, args: string[], options: SpawnOptions): ChildProcess {
  const child = spawn(command, args, { ...options, detached: true });
  started.add(child);
  child.once('exit', () => started.delete(child));
  return child;
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // Already gone.
    }
  }
}

/** SIGTERM to the child's process group, SIGKILL after `graceMs` if it is still there. */
export async function stopProcess(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  signalGroup(child, 'SIGTERM');
  const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
  // Grandchildren that left the group leader behind (a proxy's workers) go too.
  signalGroup(child, 'SIGKILL');
}

/** Stops everything still running that the bench started. */
export async function stopAll(): Promise<void> {
  await Promise.all([...started].map((child) => stopProcess(child)));
}

/** Last resort on a synchronous exit path: no waiting, just SIGKILL every group. */
export function killAllNow(): void {
  for (const child of started) signalGroup(child, 'SIGKILL');
}

/** Runs a command to completion and returns its stdout (trimmed), or undefined if it failed. */
export function capture(command: string, args: string[]): string | undefined {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.error || result.status !== 0) return undefined;
  return `${result.stdout}${result.stderr}`.trim();
}

const CLOCK_TICKS = Number(capture('getconf', ['CLK_TCK']) ?? 100) || 100;

/** Fields of /proc/<pid>/stat after the command name (which may hold spaces and parentheses). */
function statFields(pid: number): string[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** The pid and every live descendant, from the ppid field of /proc/<pid>/stat. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(Number(entry));
    if (!fields) continue;
    const ppid = Number(fields[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(entry));
    children.set(ppid, list);
  }
  const tree: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    tree.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return tree;
}

/** User and system CPU seconds of these processes (all their threads), from /proc/<pid>/stat. */
export function cpuTimes(pids: readonly number[]): { user: number; system: number } {
  let user = 0;
  let system = 0;
  for (const pid of pids) {
    const fields = statFields(pid);
    // After the name: state(0) ppid(1) ... utime(11) stime(12).
    if (!fields) continue;
    user += Number(fields[11]);
    system += Number(fields[12]);
  }
  return { user: user / CLOCK_TICKS, system: system / CLOCK_TICKS };
}

/** User + system CPU seconds of these processes. */
export function cpuSeconds(pids: readonly number[]): number {
  const { user, system } = cpuTimes(pids);
  return user + system;
}

/** Resident set size in bytes (VmRSS of /proc/<pid>/status), or 0 when the process is gone. */
export function rssBytes(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Number of open file descriptors (entries of /proc/<pid>/fd). */
export function openFds(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return 0;
  }
}
