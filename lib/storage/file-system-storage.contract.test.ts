import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import { FileSystemStorage } from './file-system-storage';
import { describeStorageContract } from './storage-contract.test-support';

const folders: string[] = [];

afterAll(async () => {
  await Promise.all(folders.map((folder) => rm(folder, { recursive: true, force: true })));
});

describeStorageContract('FileSystemStorage', async () => {
  const folder = await mkdtemp(path.join(os.tmpdir(), 'fs-contract-'));
  folders.push(folder);
  return new FileSystemStorage(path.join(folder, 'media'));
});
