import { execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pathDownload } from '../factories/path-download';
import { HttpError } from '../errors';
import { FileSystemStorage } from '../storage/file-system-storage';

// Path confinement against random trees: files, folders, dotfiles, FIFOs and symlinks (inside,
// out of the root, to the root's parent, loops, chains, dangling), then random request paths
// (`..`, `.`, encoded dots and separators, backslashes, NUL, Unicode look-alikes, long names).
// pathDownload's GET and FileSystemStorage.open (and stat) must never send a byte of a file whose real
// path is outside the root, never a dotfile (unless allowed), never fail with anything but 400
// or 404, and must send the real file, whole, for a clean path to a visible file under the root.
// fast-check prints the seed of any failure.

// PROPERTY_RUNS=400 for a longer hunt.
const RUNS = Number(process.env.PROPERTY_RUNS ?? 60);

const NAMES = [
  'a.txt', 'b', 'docs', 'sub', '.env', '.git', '.hidden', 'r\u00e9sum\u00e9.pdf', 're\u0301sume\u0301.pdf', 'up', 'loop',
  'x y.txt', '%2e%2e', '..foo', 'foo..', 'media2', 'a\\b', '~', 'file.', '\u00fc', 'CON',
];

type Kind = 'file' | 'dir' | 'link' | 'fifo';
interface Entry {
  parent: number;
  name: string;
  kind: Kind;
  target: number;
  absolute: boolean;
}

const entry = fc.record({
  parent: fc.nat(50),
  name: fc.constantFrom(...NAMES),
  kind: fc.constantFrom<Kind>('file', 'file', 'file', 'dir', 'dir', 'link', 'link', 'link', 'fifo'),
  target: fc.nat(100),
  absolute: fc.boolean(),
});

/** Request segments as Next hands them over: percent-decoded, or literal when decoding fails. */
const segment = fc
  .tuple(
    fc.oneof(
      { arbitrary: fc.constantFrom(...NAMES), weight: 6 },
      {
        arbitrary: fc.constantFrom(
          '..', '.', '', '%2e%2e', '%2E%2E', '.%2e', '..%2f', '%2f', '..%2F..', '%5c', 'a/b', '../outside', '..\\outside',
          '\\', 'a\u0000b', '\u0000', '%00', 'outside', 'secret.txt', 'media', 'media2', 'x'.repeat(300), ' ..', '.. ',
          '\u2024\u2024', '\uff0e\uff0e', '\t', 'a\nb', '%c0%ae%c0%ae', '%',
        ),
        weight: 3,
      },
    ),
    fc.boolean(),
  )
  .map(([raw, decode]) => {
    if (!decode) return raw;
    try {
      return decodeURIComponent(raw);
    } catch {
      return raw;
    }
  });

const scenario = fc.record({
  entries: fc.array(entry, { minLength: 3, maxLength: 25 }),
  // A request is random segments, or the path of an entry that was created (a file, a folder,
  // a link), maybe followed by more segments.
  requests: fc.array(
    fc.oneof(
      { arbitrary: fc.array(segment, { minLength: 0, maxLength: 5 }), weight: 1 },
      { arbitrary: fc.record({ created: fc.nat(100), then: fc.array(segment, { maxLength: 1 }) }), weight: 3 },
    ),
    { minLength: 10, maxLength: 30 },
  ),
  dotfiles: fc.constantFrom(false, false, false, true),
  rootViaLink: fc.boolean(),
  hiddenParent: fc.boolean(),
});

interface Tree {
  /** The root as configured (maybe a symlink to the real folder). */
  root: string;
  realRoot: string;
  /** The segments of every entry made under the root, in order. */
  created: string[][];
}

function exists(file: string): boolean {
  try {
    lstatSync(file);
    return true;
  } catch {
    return false;
  }
}

/** Builds the tree; file contents say where they are, outside files say SECRET. */
function build(base: string, entries: Entry[], rootViaLink: boolean, hiddenParent: boolean): Tree {
  const home = hiddenParent ? path.join(base, '.store') : base;
  const realRoot = path.join(home, 'media');
  mkdirSync(realRoot, { recursive: true });
  for (const [folder, name] of [['outside', 'secret.txt'], ['media2', 'secret.txt'], ['.', 'secret.txt']] as const) {
    mkdirSync(path.join(home, folder), { recursive: true });
    writeFileSync(path.join(home, folder, name), `SECRET ${folder}/${name}\n`);
  }
  // Every tree has a dotfile and a dot-folder for links to lead to.
  mkdirSync(path.join(realRoot, '.git'));
  writeFileSync(path.join(realRoot, '.git', 'config'), 'HIDDEN .git/config\n');
  writeFileSync(path.join(realRoot, '.env'), 'HIDDEN .env\n');
  const dirs = [realRoot];
  const created: string[][] = [];
  const targets = [
    realRoot, home, path.join(home, 'outside'), path.join(home, 'outside', 'secret.txt'), path.join(home, 'media2'),
    path.join(home, 'nowhere'), path.join(realRoot, '.env'), path.join(realRoot, '.git'), path.join(realRoot, '.git', 'config'),
  ];
  for (const { parent, name, kind, target, absolute } of entries) {
    const folder = dirs[parent % dirs.length]!;
    const file = path.join(folder, name);
    if (exists(file)) continue;
    const relative = path.relative(realRoot, file);
    created.push(relative.split(path.sep));
    switch (kind) {
      case 'file': {
        const hidden = relative.split(path.sep).some((part) => part.startsWith('.'));
        writeFileSync(file, `${hidden ? 'HIDDEN' : 'FILE'} ${relative}\n${'\u00e9'.repeat(parent)}`);
        targets.push(file);
        break;
      }
      case 'dir':
        mkdirSync(file);
        dirs.push(file);
        targets.push(file);
        break;
      case 'fifo':
        execFileSync('mkfifo', [file]);
        break;
      case 'link': {
        // Any earlier entry, the root, its parent, outside files and folders, itself (a loop), nothing.
        const to = target % (targets.length + 1) === targets.length ? file : targets[target % (targets.length + 1)]!;
        symlinkSync(absolute ? to : path.relative(folder, to) || '.', file);
        targets.push(file);
        break;
      }
    }
  }
  const root = rootViaLink ? path.join(base, 'media-link') : realRoot;
  if (rootViaLink) symlinkSync(realRoot, root);
  return { root, realRoot, created };
}

/** A path the kit must serve: clean segments naming a visible regular file really under the root. */
function shouldServe(tree: Tree, segments: string[], dotfiles: boolean): string | undefined {
  const clean =
    segments.length > 0 &&
    segments.every(
      // eslint-disable-next-line no-control-regex
      (part) => part !== '' && part !== '.' && part !== '..' && !/[/\\\u0000-\u001f\u007f]/.test(part) && (dotfiles || !part.startsWith('.')),
    );
  if (!clean) return undefined;
  let real: string;
  try {
    real = realpathSync(path.join(tree.root, ...segments));
    if (!statSync(real).isFile()) return undefined;
  } catch {
    return undefined;
  }
  const relative = path.relative(tree.realRoot, real);
  if (relative === '' || relative === '..' || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative)) return undefined;
  if (!dotfiles && relative.split(path.sep).some((part) => part.startsWith('.'))) return undefined;
  return real;
}

function checkBytes(body: Buffer, dotfiles: boolean, label: string): void {
  expect(body.includes('SECRET'), `${label}: bytes from outside the root`).toBe(false);
  if (!dotfiles) expect(body.includes('HIDDEN'), `${label}: bytes of a dotfile`).toBe(false);
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Buffer> {
  return Buffer.from(await new Response(stream).arrayBuffer());
}

describe('path confinement on random trees with symlinks', () => {
  it('pathDownload and FileSystemStorage.open serve only visible files really under the root', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ entries, requests, dotfiles, rootViaLink, hiddenParent }) => {
        const base = await mkdtemp(path.join(os.tmpdir(), 'confine-property-'));
        try {
          const tree = build(base, entries, rootViaLink, hiddenParent);
          const { GET } = pathDownload({ root: tree.root, dotfiles });
          const storage = new FileSystemStorage(tree.root, { dotfiles });
          for (const request of requests) {
            const segments = Array.isArray(request)
              ? request
              : [...(tree.created[request.created % Math.max(tree.created.length, 1)] ?? []), ...request.then];
            const label = JSON.stringify(segments);
            const expected = shouldServe(tree, segments, dotfiles);

            const response = await GET(new Request('http://x/media'), { params: Promise.resolve({ path: segments }) });
            const body = Buffer.from(await response.arrayBuffer());
            if (expected) {
              expect(response.status, label).toBe(200);
              expect(body.equals(readFileSync(expected)), `${label}: the real file's bytes`).toBe(true);
            } else {
              expect([400, 404], `${label}: answered ${response.status} ${body.toString()}`).toContain(response.status);
            }
            checkBytes(body, dotfiles, label);

            const name = segments.join('/');
            const named = shouldServe(tree, name.split('/'), dotfiles);
            // stat describes only what open would serve.
            try {
              const described = await storage.stat(name);
              expect(named, `storage.stat ${JSON.stringify(name)} described a file it must not`).toBeDefined();
              expect(described.size).toBe(statSync(named!).size);
            } catch (error) {
              if (!(error instanceof HttpError) || (error.status !== 400 && error.status !== 404)) throw error;
              expect(named, `storage.stat ${JSON.stringify(name)}: ${error.status} for a file it must serve`).toBeUndefined();
            }
            try {
              const bytes = await readAll(await storage.open(name));
              expect(named, `storage ${JSON.stringify(name)} served a file it must not`).toBeDefined();
              expect(bytes.equals(readFileSync(named!)), `storage ${JSON.stringify(name)}: the real file's bytes`).toBe(true);
              checkBytes(bytes, dotfiles, `storage ${JSON.stringify(name)}`);
            } catch (error) {
              if (!(error instanceof HttpError) || (error.status !== 400 && error.status !== 404)) throw error;
              expect(named, `storage ${JSON.stringify(name)}: ${error.status} for a file it must serve`).toBeUndefined();
            }
          }
        } finally {
          rmSync(base, { recursive: true, force: true });
        }
      }),
      { numRuns: RUNS },
    );
  });
});
