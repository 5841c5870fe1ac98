/**
 * The lines of each route that a section of the page is about. Every line here is a line of the
 * named file (checked by snippets.test.ts), so the page cannot drift from the code it teaches.
 */
export interface Snippet {
  file: string;
  code: string;
}

export const SNIPPETS = {
  files: {
    file: 'app/api/files/[id]/route.ts',
    code: `const options = {
  storage: filesStorage,
  db: getDb,
  table: files,
  fields: {
    file: 'storagePath',
    basename: 'name',
    contentType: 'contentType',
    size: 'size',
    checksum: 'sha256',
    lastModified: 'updatedAt',
  } as const,
  attachment: (request: Request) => !new URL(request.url).searchParams.has('inline'),
} satisfies Parameters<typeof drizzleObjectDownload>[0];
const streamed = drizzleObjectDownload(options);
const delivered = filesDelivery === 'redirect' ? drizzleObjectDownload({ ...options, delivery: 'redirect' }) : streamed;
export const { GET, HEAD } = {
  GET: (request: Request, context: Context) => (new URL(request.url).searchParams.has('stream') ? streamed : delivered).GET(request, context),
  HEAD: streamed.HEAD,
};`,
  },
  upload: {
    file: 'app/_lib/files.ts',
    code: `const upload = await receiveUpload(request, filesStorage, { maxBytes: maxUploadBytes(), name: storageNameFor });`,
  },
  hello: {
    file: 'app/api/exports/hello-world.txt/route.ts',
    code: `export const { GET, HEAD, OPTIONS, POST, PUT, PATCH, DELETE } = virtualDownload({
  file: { name: 'hello-world.txt', content: 'Hello world!\\n' },
});`,
  },
  numbers: {
    file: 'app/api/exports/numbers.txt/route.ts',
    code: `export const { GET, HEAD, OPTIONS, POST, PUT, PATCH, DELETE } = virtualDownload({
  file: (request) => numbersFile(new URL(request.url).searchParams.get('count')),
});`,
  },
  zip: {
    file: 'app/api/exports/files.zip/route.ts',
    code: `export const { GET, HEAD, OPTIONS, POST, PUT, PATCH, DELETE } = zipDownload({
  filename: 'files.zip',
  storage: filesStorage,
  check: true,
  entries: async () => {
    await filesStorageReady();
    return fileEntries(iterateFiles());
  },
});`,
  },
  path: {
    file: 'app/api/path/[...path]/route.ts',
    code: `export const { GET, HEAD, OPTIONS, POST, PUT, PATCH, DELETE } = pathDownload({
  root: mediaRoot(),
  attachment: (request) => !new URL(request.url).searchParams.has('inline'),
  activeContent: 'sandbox',
  precompressed: true,
});`,
  },
  storage: {
    file: 'app/api/storage/[...path]/route.ts',
    code: `export const { GET, HEAD, OPTIONS, POST, PUT, PATCH, DELETE } = storageDownload({ storage: media, precompressed: true });`,
  },
  remote: {
    file: 'app/api/remote/[...path]/route.ts',
    code: `export const { GET, HEAD, OPTIONS, POST, PUT, PATCH, DELETE } = httpDownload({ base: upstreamUrl() });`,
  },
  signed: {
    file: 'app/api/signed/[...path]/route.ts',
    code: `export const { GET, HEAD, OPTIONS, POST, PUT, PATCH, DELETE } = storageDownload({
  storage: media,
  authorize: signed({ secret: downloadSecret }),
});`,
  },
  signUrl: {
    file: 'app/api/signed-links/route.ts',
    code: `const url = signUrl(\`/api/signed/\${encoded}\`, { secret: downloadSecret(), expiresIn });`,
  },
} satisfies Record<string, Snippet>;
