import { describe, expect, it } from 'vitest';
import { entryName, FALLBACK_ENTRY_NAME, MAX_ENTRY_NAME_BYTES, UniqueNames } from './entry-name';

describe('entryName', () => {
  it.each([
    ['report.pdf', 'report.pdf'],
    ['../../etc/passwd', '.._.._etc_passwd'],
    ['/abs/path.txt', '_abs_path.txt'],
    ['back\\slash.txt', 'back_slash.txt'],
    ['tab\there.txt', 'tab_here.txt'],
    ['..', FALLBACK_ENTRY_NAME],
    ['', FALLBACK_ENTRY_NAME],
    ['  spaced  ', 'spaced'],
    ['e\u0301te\u0301.txt', 'été.txt'],
  ])('makes %j the entry name %j', (name, expected) => {
    expect(entryName(name)).toBe(expected);
  });

  describe('names Windows cannot extract', () => {
    it.each([
      // An NTFS alternate data stream with some extractors.
      ['re:port.txt', 're_port.txt'],
      ['C:\\Windows\\x.txt', 'C__Windows_x.txt'],
      // Characters Windows refuses.
      ['wh?t*.txt', 'wh_t_.txt'],
      ['<a>|"b".txt', '_a___b_.txt'],
      ['bell\u0007.txt', 'bell_.txt'],
      ['nul\u0000byte.txt', 'nul_byte.txt'],
      // Reserved device names, with any extension, in any case.
      ['CON', '_CON'],
      ['con', '_con'],
      ['nul.txt', '_nul.txt'],
      ['Aux.tar.gz', '_Aux.tar.gz'],
      ['PRN.', '_PRN'],
      ['com1', '_com1'],
      ['LPT9.log', '_LPT9.log'],
      ['COM\u00b9.txt', '_COM\u00b9.txt'],
      ['CONIN$', '_CONIN$'],
      ['CON .txt', '_CON.txt'],
      // Not reserved: longer names and names that only start like one.
      ['CONSOLE.txt', 'CONSOLE.txt'],
      ['com10', 'com10'],
      ['nul_report.txt', 'nul_report.txt'],
      ['my.con', 'my.con'],
      // Trailing dots and spaces, which Windows drops.
      ['trailing dot.', 'trailing dot'],
      ['dots...', 'dots'],
      ['space. . ', 'space'],
      ['...', FALLBACK_ENTRY_NAME],
      [' . ', FALLBACK_ENTRY_NAME],
      ['.env', '.env'],
    ])('makes %j the entry name %j', (name, expected) => {
      expect(entryName(name)).toBe(expected);
    });

    it('never gives a name Windows refuses, whatever the input', () => {
      const parts = ['CON', 'nul', 'a', '.', ' ', ':', '?', '*', '<', '|', '"', '\\', '/', '\u0001', 'txt', 'é'];
      for (let i = 0; i < 5000; i++) {
        let name = '';
        for (let j = 0, seed = i; j < 6; j++, seed = Math.floor(seed / parts.length) + j * 7) name += parts[seed % parts.length];
        const entry = entryName(name);
        // eslint-disable-next-line no-control-regex -- control characters are what must not be left
        expect(entry, JSON.stringify(name)).not.toMatch(/[\u0000-\u001f<>:"/\\|?*]|[. ]$|^$/);
        expect(entry.split('.')[0]!.trimEnd(), JSON.stringify(name)).not.toMatch(/^(con|prn|aux|nul|com[0-9]|lpt[0-9])$/i);
        expect(entryName(name)).toBe(entry);
      }
    });
  });
});

describe('UniqueNames', () => {
  it.each([
    [['a.txt', 'a.txt', 'a.txt'], ['a.txt', 'a (2).txt', 'a (3).txt']],
    [['a.txt', 'A.TXT'], ['a.txt', 'A (2).TXT']],
    [['a.txt', 'a (2).txt', 'a.txt'], ['a.txt', 'a (2).txt', 'a (3).txt']],
    [['backup.tar.gz', 'backup.tar.gz'], ['backup.tar.gz', 'backup (2).tar.gz']],
    [['README', 'README'], ['README', 'README (2)']],
    [['.env', '.env'], ['.env', '.env (2)']],
    [['a.txt', 'a (3).txt', 'a.txt', 'a.txt', 'a.txt'], ['a.txt', 'a (3).txt', 'a (2).txt', 'a (4).txt', 'a (5).txt']],
    [['a (2).txt', 'a.txt', 'a.txt'], ['a (2).txt', 'a.txt', 'a (3).txt']],
  ])('names %j as %j', (names, expected) => {
    const unique = new UniqueNames();
    expect(names.map((name) => unique.take(name))).toEqual(expected);
  });

  it('gives two rows whose portable names are the same two entries', () => {
    const unique = new UniqueNames();
    expect(['re:port.txt', 're?port.txt', 're_port.txt', 'CON', '_CON'].map((name) => unique.take(entryName(name)))).toEqual([
      're_port.txt',
      're_port (2).txt',
      're_port (3).txt',
      '_CON',
      '_CON (2)',
    ]);
  });

  it('names 50,000 rows of the same name in linear time, the last one a (50000).txt', () => {
    // Each name once retried (2), (3), ... from 2: 1.25 billion tries here, where 8,000 rows took 8 s.
    const unique = new UniqueNames();
    const started = performance.now();
    let last = '';
    for (let i = 0; i < 50_000; i++) last = unique.take('a.txt');
    expect(last).toBe('a (50000).txt');
    expect(performance.now() - started).toBeLessThan(3_000);
  });

  it('gives the same names for the same names in the same order', () => {
    const names = Array.from({ length: 2000 }, (_, i) => ['a.txt', 'A.TXT', `a (${i % 7}).txt`, 'b', 'nul.txt'][i % 5]!);
    const once = () => {
      const unique = new UniqueNames();
      return names.map((name) => unique.take(entryName(name)));
    };
    const first = once();
    expect(once()).toEqual(first);
    expect(new Set(first.map((name) => name.toLowerCase())).size).toBe(names.length);
  });
});

describe('entry names', () => {
  const utf8 = (text: string) => Buffer.byteLength(text, 'utf8');

  it.each([
    ['a 20,000-character name', `${'x'.repeat(20_000)}.pdf`, '.pdf'],
    ['a long CJK name', `${'报'.repeat(200)}.tar.gz`, '.tar.gz'],
    ['a long name of emoji', `${'😀'.repeat(100)}.txt`, '.txt'],
    ['a long name without an extension', 'é'.repeat(300), ''],
  ])('cuts %s to 255 UTF-8 bytes of whole characters, keeping the extension', (_what, name, extension) => {
    const cut = entryName(name);
    expect(utf8(cut)).toBeLessThanOrEqual(MAX_ENTRY_NAME_BYTES);
    expect(utf8(cut)).toBeGreaterThan(MAX_ENTRY_NAME_BYTES - 4);
    expect(cut.endsWith(extension)).toBe(true);
    expect(cut).not.toContain('\ufffd');
    expect(name.startsWith(cut.slice(0, cut.length - extension.length))).toBe(true);
  });

  it('never splits a character made of several code points (an emoji with a skin tone)', () => {
    const thumb = '\u{1f44d}\u{1f3fd}';
    const cut = entryName(`${thumb.repeat(40)}.txt`);
    expect(utf8(cut)).toBeLessThanOrEqual(MAX_ENTRY_NAME_BYTES);
    expect(cut.slice(0, -'.txt'.length)).toBe(thumb.repeat((cut.length - 4) / thumb.length));
  });

  it('leaves a name of exactly 255 bytes alone', () => {
    const name = `${'a'.repeat(251)}.txt`;
    expect(entryName(name)).toBe(name);
  });

  it('keeps the number of a duplicate within 255 bytes, cutting the stem instead', () => {
    const unique = new UniqueNames();
    const long = entryName(`${'ü'.repeat(500)}.csv`);
    const names = Array.from({ length: 12 }, () => unique.take(long));
    expect(new Set(names.map((n) => n.toLowerCase())).size).toBe(12);
    expect(names[1]).toMatch(/ü \(2\)\.csv$/);
    expect(names[11]).toMatch(/ü \(12\)\.csv$/);
    for (const name of names) expect(utf8(name)).toBeLessThanOrEqual(MAX_ENTRY_NAME_BYTES);
  });
});
