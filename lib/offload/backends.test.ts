import { describe, expect, it } from 'vitest';
import { encodePathSegment, nginxHeaders, offloadHeaders, sendfileHeaders } from './backends';
import { resolveOffloadRules, type OffloadMatch, type OffloadRule, type ResolvedOffloadRule } from './rules';

function rule(input: OffloadRule): ResolvedOffloadRule {
  const [resolved] = resolveOffloadRules([input], 'test') as readonly ResolvedOffloadRule[];
  return resolved!;
}

describe('encodePathSegment(name)', () => {
  // What nginx 1.22 was seen to decode back to the right file (FACTS.md, and e2e/offload.spec.ts).
  const cases: [string, string][] = [
    ['hello.txt', 'hello.txt'],
    ['a b.txt', 'a%20b.txt'],
    ['espacé .txt', 'espac%C3%A9%20.txt'],
    ['中文.txt', '%E4%B8%AD%E6%96%87.txt'],
    ['what?.txt', 'what%3F.txt'],
    ['100%.txt', '100%25.txt'],
    ['hash#.txt', 'hash%23.txt'],
    ['plus+.txt', 'plus%2B.txt'],
    ['semi;colon.txt', 'semi%3Bcolon.txt'],
    ["it's (1)!*.txt", 'it%27s%20%281%29%21%2A.txt'],
    ['~user-file_1.0', '~user-file_1.0'],
    ['a\\b', 'a%5Cb'],
  ];
  it.each(cases)('encodePathSegment(%j) -> %j', (name, expected) => {
    expect(encodePathSegment(name)).toBe(expected);
  });
});

describe('nginxHeaders(uri, options)', () => {
  const uri = '/_protected/a%20b.txt';
  const at = new Date(Date.UTC(2030, 0, 1));
  const cases: [string, Parameters<typeof nginxHeaders>[1], Record<string, string>][] = [
    ['no options', undefined, {}],
    ['buffering: false', { buffering: false }, { 'x-accel-buffering': 'no' }],
    ['buffering: true', { buffering: true }, { 'x-accel-buffering': 'yes' }],
    ['limitRate', { limitRate: 1048576 }, { 'x-accel-limit-rate': '1048576' }],
    ['limitRate: 0 (no limit)', { limitRate: 0 }, { 'x-accel-limit-rate': '0' }],
    // django-downloadview crashed on any X-Accel-Expires.
    ["expires: 'off'", { expires: 'off' }, { 'x-accel-expires': 'off' }],
    ['expires: 0', { expires: 0 }, { 'x-accel-expires': '0' }],
    ['expires: 3600', { expires: 3600 }, { 'x-accel-expires': '3600' }],
    ['expires: a Date', { expires: at }, { 'x-accel-expires': `@${at.getTime() / 1000}` }],
    ['charset', { charset: 'utf-8' }, { 'x-accel-charset': 'utf-8' }],
    [
      'all of them',
      { buffering: false, limitRate: 512, expires: 'off', charset: 'iso-8859-1' },
      { 'x-accel-buffering': 'no', 'x-accel-limit-rate': '512', 'x-accel-expires': 'off', 'x-accel-charset': 'iso-8859-1' },
    ],
  ];
  it.each(cases)('%s', (_name, options, extra) => {
    expect(nginxHeaders(uri, options)).toEqual({ 'x-accel-redirect': uri, ...extra });
  });
});

describe('sendfileHeaders(file, encoded)', () => {
  const cases: [string, boolean, string | undefined][] = [
    ['/srv/media/a.txt', false, '/srv/media/a.txt'],
    ['/srv/media/a b.txt', false, '/srv/media/a b.txt'],
    ['/srv/media/a b.txt', true, '/srv/media/a%20b.txt'],
    ['/srv/media/résumé.txt', true, '/srv/media/r%C3%A9sum%C3%A9.txt'],
    ['/srv/media/100%.txt', true, '/srv/media/100%25.txt'],
    // Literal: the UTF-8 bytes, one header character each (what reaches the wire).
    ['/srv/media/é.txt', false, '/srv/media/\u00c3\u00a9.txt'],
    ['/srv/media/line\nbreak.txt', false, undefined],
    ['/srv/media/trailing ', false, undefined],
    ['/srv/media/line\nbreak.txt', true, '/srv/media/line%0Abreak.txt'],
  ];
  it.each(cases)('sendfileHeaders(%j, %j) -> %j', (file, encoded, expected) => {
    expect(sendfileHeaders(file, encoded)).toEqual(expected === undefined ? undefined : { 'x-sendfile': expected });
  });

  it('gives a literal value that Headers accept and that carries the UTF-8 bytes', () => {
    const value = new Headers(sendfileHeaders('/srv/中文.txt', false)).get('x-sendfile')!;
    expect(Buffer.from(value, 'latin1').toString('utf8')).toBe('/srv/中文.txt');
  });
});

describe('offloadHeaders(match)', () => {
  const nginx = rule({ backend: 'nginx', source: '/srv/media', destination: '/_protected/', options: { expires: 'off' } });
  const rootUri = rule({ backend: 'nginx', source: '/srv/media', destination: '/' });
  const cdn = rule({ backend: 'nginx', source: 'https://cdn.example.com/files', destination: '/_cdn' });
  const apache = rule({ backend: 'apache', source: '/srv/media' });
  const apacheMounted = rule({ backend: 'apache', source: '/srv/media', destination: '/mnt/media', options: { unescape: true } });
  const lighttpd = rule({ backend: 'lighttpd', source: '/srv/media' });
  const file = (r: ResolvedOffloadRule, ...segments: string[]): OffloadMatch => ({
    rule: r,
    kind: 'file',
    directory: '/srv/media',
    segments,
  });

  const cases: [string, OffloadMatch, Record<string, string> | undefined][] = [
    ['nginx: the encoded path below the internal URI', file(nginx, 'docs', 'résumé été.txt'), {
      'x-accel-redirect': '/_protected/docs/r%C3%A9sum%C3%A9%20%C3%A9t%C3%A9.txt',
      'x-accel-expires': 'off',
    }],
    ['nginx: a destination of /', file(rootUri, 'a.txt'), { 'x-accel-redirect': '/a.txt' }],
    ['nginx: a URL keeps its encoded path and query', { rule: cdn, kind: 'url', path: 'a%20b.txt', query: 'v=2' }, {
      'x-accel-redirect': '/_cdn/a%20b.txt?v=2',
    }],
    ['nginx: a URL without query', { rule: cdn, kind: 'url', path: 'a.txt', query: '' }, { 'x-accel-redirect': '/_cdn/a.txt' }],
    ["apache: the file's own path, literally", file(apache, 'a b.txt'), { 'x-sendfile': '/srv/media/a b.txt' }],
    ['apache: a mounted destination, encoded', file(apacheMounted, 'a b.txt'), { 'x-sendfile': '/mnt/media/a%20b.txt' }],
    ['apache: a name that cannot be sent literally', file(apache, 'a\r\nb'), undefined],
    ['lighttpd: the encoded path', file(lighttpd, '中文.txt'), { 'x-sendfile': '/srv/media/%E4%B8%AD%E6%96%87.txt' }],
    ['a name that is not valid Unicode', file(nginx, 'bad\ud800.txt'), undefined],
  ];
  it.each(cases)('%s', (_name, match, expected) => {
    expect(offloadHeaders(match)).toEqual(expected);
  });
});
