import { mkdir, mkdtemp, realpath, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigurationError } from '../errors';
import { matchOffloadRule, pathBelow, resolveOffloadRules, urlBelow, type ResolvedOffloadRule } from './rules';

function rules(list: unknown): readonly ResolvedOffloadRule[] {
  const resolved = resolveOffloadRules(list, 'test');
  if (resolved === false) throw new Error('expected rules');
  return resolved;
}

describe('resolveOffloadRules(rules, where)', () => {
  it('returns false for false', () => {
    expect(resolveOffloadRules(false, 'test')).toBe(false);
  });

  it('compiles an nginx rule: directory resolved, destination without its trailing slash, options kept', () => {
    const [rule] = rules([
      { backend: 'nginx', source: '/srv/media/', destination: '/_protected/', options: { buffering: false, expires: 'off' } },
    ]);
    expect(rule).toEqual({
      position: 1,
      backend: 'nginx',
      source: { kind: 'directory', directory: '/srv/media' },
      destination: '/_protected',
      nginx: { buffering: false, limitRate: undefined, expires: 'off', charset: undefined },
      encoded: true,
    });
  });

  it('takes a storage with a root as a directory source', () => {
    const [rule] = rules([{ backend: 'nginx', source: { root: '/srv/media' }, destination: '/_protected/' }]);
    expect(rule!.source).toEqual({ kind: 'directory', directory: '/srv/media' });
  });

  it('takes an http(s) URL, as a string or a URL, as a URL prefix', () => {
    const [a, b] = rules([
      { backend: 'nginx', source: 'HTTPS://CDN.example.com:443/files/', destination: '/_cdn/' },
      { backend: 'nginx', source: new URL('http://other.example/'), destination: '/_other/' },
    ]);
    expect(a!.source).toEqual({ kind: 'url', origin: 'https://cdn.example.com', pathname: '/files' });
    expect(b!.source).toEqual({ kind: 'url', origin: 'http://other.example', pathname: '' });
  });

  it('sends Apache paths literally unless unescape is set, lighttpd paths always encoded', () => {
    const [apache, apacheEncoded, lighttpd] = rules([
      { backend: 'apache', source: '/a' },
      { backend: 'apache', source: '/b', destination: '/mnt/b/', options: { unescape: true } },
      { backend: 'lighttpd', source: '/c' },
    ]);
    expect(apache).toMatchObject({ destination: undefined, encoded: false });
    expect(apacheEncoded).toMatchObject({ destination: '/mnt/b', encoded: true });
    expect(lighttpd).toMatchObject({ destination: undefined, encoded: true });
  });

  it('accepts every X-Accel-Expires form: off, seconds (0 included) and a Date', () => {
    for (const expires of ['off', 0, 3600, new Date(Date.UTC(2030, 0, 1))] as const) {
      expect(() => rules([{ backend: 'nginx', source: '/m', destination: '/p/', options: { expires } }])).not.toThrow();
    }
  });

  describe('refuses, at configuration time', () => {
    const nginx = (extra: Record<string, unknown>) => ({ backend: 'nginx', source: '/m', destination: '/p/', ...extra });
    const cases: [string, unknown, string | RegExp][] = [
      ['a list that is not one', { backend: 'nginx' }, 'offload must be a list of rules or false, got an object'],
      ['true', true, 'offload must be a list of rules or false, got true'],
      ['a positional rule (django-downloadview tuples)', [['/m', '/p/']], 'offload rule 1 is a list; give an object'],
      ['a rule that is not an object', ['/m'], 'offload rule 1 must be an object, got "/m"'],
      ['an unknown field', [nginx({ source_dir: '/m' })], 'offload rule 1: unknown field "source_dir"'],
      ['a missing backend', [{ source: '/m', destination: '/p/' }], "backend must be 'nginx', 'apache' or 'lighttpd', got undefined"],
      ['an unknown backend', [nginx({ backend: 'caddy' })], 'got "caddy"'],
      ['a missing source (a setting unset at runtime)', [nginx({ source: undefined })], 'source is undefined at runtime'],
      ['an empty source', [nginx({ source: '' })], 'source must be a directory'],
      ['a storage without a root', [nginx({ source: { url: () => 'x' } })], 'source must be a directory'],
      ['an ftp source', [nginx({ source: 'ftp://host/files' })], 'only http and https URL sources'],
      ['a URL source with a query', [nginx({ source: 'https://cdn.example.com/files?x=1' })], 'no query, fragment or credentials'],
      ['an nginx rule without destination', [nginx({ destination: undefined })], 'destination must be the URI of an nginx internal location'],
      ['a relative nginx destination', [nginx({ destination: '_protected/' })], 'internal location'],
      ['an nginx destination with a query', [nginx({ destination: '/p/?x' })], 'internal location'],
      ['an nginx destination with a space', [nginx({ destination: '/my files/' })], 'internal location'],
      ['an nginx destination with ..', [nginx({ destination: '/p/../q/' })], 'must not contain . or .. segments'],
      ['an unknown nginx option', [nginx({ options: { expire: 60 } })], 'unknown nginx option "expire" (known: buffering, limitRate, expires, charset)'],
      ['options that are not an object', [nginx({ options: 'off' })], 'options must be an object'],
      ['buffering as a string', [nginx({ options: { buffering: 'no' } })], 'buffering must be true or false'],
      ['a negative limitRate', [nginx({ options: { limitRate: -1 } })], 'limitRate must be a whole number'],
      ['a fractional limitRate', [nginx({ options: { limitRate: 1.5 } })], 'limitRate must be a whole number'],
      ['negative expires', [nginx({ options: { expires: -1 } })], "expires must be 'off', whole seconds >= 0 or a Date, got -1"],
      ['fractional expires', [nginx({ options: { expires: 1.5 } })], 'expires must be'],
      ['expires as a numeric string', [nginx({ options: { expires: '60' } })], 'expires must be'],
      ['expires "never"', [nginx({ options: { expires: 'never' } })], 'expires must be'],
      ['an invalid Date', [nginx({ options: { expires: new Date(Number.NaN) } })], 'expires must be'],
      ['a charset with a space', [nginx({ options: { charset: 'utf 8' } })], 'charset must be a charset name'],
      ['a charset with a line break', [nginx({ options: { charset: 'utf-8\r\nX-Evil: 1' } })], 'charset must be a charset name'],
      ['an Apache URL source', [{ backend: 'apache', source: 'https://cdn.example.com/' }], 'apache sends files, not URLs'],
      ['a relative Apache destination', [{ backend: 'apache', source: '/m', destination: 'm' }], 'destination must be an absolute directory path'],
      ['a non-boolean unescape', [{ backend: 'apache', source: '/m', options: { unescape: 1 } }], 'unescape must be true or false'],
      ['a lighttpd option', [{ backend: 'lighttpd', source: '/m', options: { ranges: true } }], 'unknown lighttpd option "ranges" (known: none)'],
    ];
    it.each(cases)('%s', (_name, input, message) => {
      expect(() => resolveOffloadRules(input, 'test')).toThrow(ConfigurationError);
      expect(() => resolveOffloadRules(input, 'test')).toThrow(message);
    });
  });

  describe('in any order', () => {
    const media = { backend: 'nginx', source: '/srv/media', destination: '/_protected/' } as const;
    const privateMedia = { backend: 'nginx', source: '/srv/media/private', destination: '/_private/' } as const;

    it('accepts the narrower rule first', () => {
      expect(rules([privateMedia, media])).toHaveLength(2);
    });

    it('refuses a rule that an earlier one covers, instead of never matching it', () => {
      expect(() => resolveOffloadRules([media, privateMedia], 'test')).toThrow(
        'test: offload rule 2 can never match: rule 1 comes first and covers all of its source (/srv/media/private)',
      );
    });

    it('refuses the same source twice', () => {
      expect(() => resolveOffloadRules([media, { ...media, destination: '/_other/' }], 'test')).toThrow('rule 2 can never match');
    });

    it('refuses a URL prefix inside an earlier one', () => {
      const cdn = { backend: 'nginx', source: 'https://cdn.example.com/files', destination: '/_cdn/' };
      expect(() => resolveOffloadRules([cdn, { ...cdn, source: 'https://cdn.example.com/files/big/' }], 'test')).toThrow(
        'rule 2 can never match',
      );
    });

    it('takes sibling sources in either order: /media and /media2 do not overlap', () => {
      const media2 = { ...media, source: '/srv/media2' };
      expect(rules([media, media2])).toHaveLength(2);
      expect(rules([media2, media])).toHaveLength(2);
    });
  });
});

describe('pathBelow(directory, file)', () => {
  const cases: [string, string, string[] | undefined][] = [
    ['/media', '/media/a.txt', ['a.txt']],
    ['/media', '/media/sub/b c.txt', ['sub', 'b c.txt']],
    ['/media', '/media/résumé été.txt', ['résumé été.txt']],
    ['/', '/media/a.txt', ['media', 'a.txt']],
    ['/media', '/media2/a.txt', undefined],
    ['/media', '/media-old/a.txt', undefined],
    ['/media', '/media', undefined],
    ['/media', '/', undefined],
    ['/media', '/other/a.txt', undefined],
    ['/media/sub', '/media/a.txt', undefined],
    ['/media', '/media/..a', ['..a']],
  ];
  it.each(cases)('pathBelow(%j, %j) -> %j', (directory, file, expected) => {
    expect(pathBelow(directory, file)).toEqual(expected);
  });
});

describe('urlBelow(prefix, url)', () => {
  const files = { origin: 'https://cdn.example.com', pathname: '/files' };
  const root = { origin: 'https://cdn.example.com', pathname: '' };
  const cases: [typeof files, string, { path: string; query: string } | undefined][] = [
    [files, 'https://cdn.example.com/files/a.txt', { path: 'a.txt', query: '' }],
    [files, 'https://CDN.example.com:443/files/a%20b/%C3%A9.txt?v=2', { path: 'a%20b/%C3%A9.txt', query: 'v=2' }],
    [files, 'https://cdn.example.com/files/a b.txt', { path: 'a%20b.txt', query: '' }],
    [root, 'https://cdn.example.com/x/y', { path: 'x/y', query: '' }],
    [files, 'https://cdn.example.com/files2/a.txt', undefined],
    [files, 'https://cdn.example.com/files', undefined],
    [files, 'https://cdn.example.com/files/', undefined],
    [files, 'http://cdn.example.com/files/a.txt', undefined],
    [files, 'https://cdn.example.com:8443/files/a.txt', undefined],
    [files, 'https://evil.example.com/files/a.txt', undefined],
    [files, 'https://cdn.example.com/files/a%2Fb.txt', undefined],
    [files, 'https://cdn.example.com/files/a%5cb.txt', undefined],
    [files, 'https://cdn.example.com/files/a%00b.txt', undefined],
    [files, 'https://cdn.example.com/files/a//b.txt', undefined],
    [files, 'https://cdn.example.com/files/../secret.txt', undefined],
    [files, 'https://cdn.example.com/files/%2e%2e/secret.txt', undefined],
    [files, 'not a url', undefined],
  ];
  it.each(cases)('urlBelow(%j, %j) -> %j', (prefix, url, expected) => {
    expect(urlBelow(prefix, url)).toEqual(expected);
  });
});

describe('matchOffloadRule(rules, location)', () => {
  let tmp: string;
  beforeAll(async () => {
    tmp = await realpath(await mkdtemp(path.join(os.tmpdir(), 'offload-rules-')));
    await mkdir(path.join(tmp, 'real', 'media'), { recursive: true });
    await symlink(path.join(tmp, 'real', 'media'), path.join(tmp, 'media-link'));
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  const ordered = rules([
    { backend: 'nginx', source: '/srv/media/private', destination: '/_private/' },
    { backend: 'nginx', source: '/srv/media', destination: '/_protected/' },
    { backend: 'nginx', source: 'https://cdn.example.com/files/', destination: '/_cdn/' },
    { backend: 'apache', source: '/srv/other' },
  ]);

  it('takes the first rule that covers the file', async () => {
    expect(await matchOffloadRule(ordered, { path: '/srv/media/private/a.txt' })).toMatchObject({
      rule: { position: 1 },
      kind: 'file',
      directory: '/srv/media/private',
      segments: ['a.txt'],
    });
    expect(await matchOffloadRule(ordered, { path: '/srv/media/public/a.txt' })).toMatchObject({
      rule: { position: 2 },
      segments: ['public', 'a.txt'],
    });
    expect(await matchOffloadRule(ordered, { path: '/srv/other/x' })).toMatchObject({ rule: { position: 4 } });
  });

  it('matches /media on whole segments: not /media2/..., not /media-private/...', async () => {
    expect(await matchOffloadRule(ordered, { path: '/srv/media2/a.txt' })).toBeUndefined();
    expect(await matchOffloadRule(ordered, { path: '/srv/media-private/a.txt' })).toBeUndefined();
    expect(await matchOffloadRule(ordered, { path: '/srv/media/private2/a.txt' })).toMatchObject({ rule: { position: 2 } });
  });

  it('looks at the URL for URL rules and at the path for directory rules', async () => {
    expect(await matchOffloadRule(ordered, { url: 'https://cdn.example.com/files/a.txt' })).toMatchObject({
      rule: { position: 3 },
      kind: 'url',
      path: 'a.txt',
    });
    expect(await matchOffloadRule(ordered, { url: 'https://cdn.example.com/srv/media/a.txt' })).toBeUndefined();
    expect(
      await matchOffloadRule(ordered, { path: '/elsewhere/a.txt', url: 'https://cdn.example.com/files/a.txt' }),
    ).toMatchObject({ rule: { position: 3 } });
  });

  it('matches nothing for a location with neither', async () => {
    expect(await matchOffloadRule(ordered, {})).toBeUndefined();
  });

  it('compares canonical paths: a rule on a symlinked folder covers the files it leads to', async () => {
    const linked = rules([{ backend: 'nginx', source: path.join(tmp, 'media-link'), destination: '/_protected/' }]);
    const file = path.join(tmp, 'real', 'media', 'a.txt');
    expect(await matchOffloadRule(linked, { path: file })).toMatchObject({
      directory: path.join(tmp, 'real', 'media'),
      segments: ['a.txt'],
    });
  });

  it('still matches by the path as given when the directory does not exist (yet)', async () => {
    const missing = rules([{ backend: 'nginx', source: path.join(tmp, 'later'), destination: '/_protected/' }]);
    expect(await matchOffloadRule(missing, { path: path.join(tmp, 'later', 'a.txt') })).toMatchObject({ segments: ['a.txt'] });
  });
});
