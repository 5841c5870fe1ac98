import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (this file lives in <root>/e2e). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Scratch state of the e2e demo server; wiped before each run so seeding starts from empty. */
export const e2eVarDir = path.join(repoRoot, 'test-results', 'e2e-var');

/** MEDIA_ROOT of the demo server under test: specs read the expected bytes from here. */
export const mediaRoot = path.join(e2eVarDir, 'media');

/** DATABASE_URL of the demo server under test. */
export const databaseUrl = path.join(e2eVarDir, 'demo.db');

export const e2ePort = 3100;
export const e2eBaseURL = `http://127.0.0.1:${e2ePort}`;

export function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export async function sha256File(file: string): Promise<string> {
  return sha256(await readFile(file));
}
