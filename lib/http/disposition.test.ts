import { describe, it, expect } from 'vitest';
import { parse } from 'content-disposition';
import { asciiFallback, contentDispositionHeader, MAX_FILENAME_BYTES, safeBasename, truncateFilename } from './disposition';

describe('safeBasename', () => {
  it.each([
    ['keeps a plain name', 'report.pdf', 'report.pdf'],
    ['keeps inner spaces', 'my report.pdf', 'my report.pdf'],
    ['takes the last POSIX path segment', 'a/b/c.txt', 'c.txt'],
    ['takes the last Windows path segment', 'C:\\x\\y.txt', 'y.txt'],
    ['takes the last segment with mixed separators', 'a\\b/c\\d.txt', 'd.txt'],
    ['drops a traversal prefix', '../../etc/passwd', 'passwd'],
    ['answers empty for a trailing slash', 'dir/', ''],
    ['answers empty for "."', '.', ''],
    ['answers empty for ".."', '..', ''],
    ['answers empty for a path ending in ".."', 'a/..', ''],
    ['answers empty for ".." wrapped in blanks', ' .. ', ''],
    ['answers empty for ".." hidden by a control char', '.\u0000.', ''],
    ['answers empty for an empty string', '', ''],
    ['answers empty for blanks only', ' \t ', ''],
    ['trims leading and trailing whitespace', '  a.txt \t', 'a.txt'],
    ['removes CR and LF', 'a\r\nb.txt', 'ab.txt'],
    ['removes NUL and other C0 controls', 'a\u0000\u0007\u001fb.txt', 'ab.txt'],
    ['removes DEL', 'a\u007fb.txt', 'ab.txt'],
    ['removes C1 controls', 'a\u0080\u0085\u009fb.txt', 'ab.txt'],
    ['removes the Unicode line and paragraph separators', 'a\u2028b\u2029c.txt', 'abc.txt'],
    ['removes bidi overrides that spoof the extension', 'invoice\u202Efdp.exe', 'invoicefdp.exe'],
    ['keeps a dotfile', '.bashrc', '.bashrc'],
    ['keeps non-ASCII letters', 'résumé 中文.pdf', 'résumé 中文.pdf'],
    ['keeps emoji', '😀.png', '😀.png'],
    ['replaces a lone surrogate with U+FFFD', 'a\ud800.txt', 'a\ufffd.txt'],
  ])('%s', (_label, input, expected) => {
    expect(safeBasename(input)).toBe(expected);
  });
});

describe('asciiFallback', () => {
  it.each([
    ['keeps a plain ASCII name', 'report.pdf', 'report.pdf'],
    ['keeps spaces', 'my report.pdf', 'my report.pdf'],
    ['drops accents from Latin letters', 'résumé.pdf', 'resume.pdf'],
    ['drops accents from capitals', 'ÉLÈVE Ñ.txt', 'ELEVE N.txt'],
    ['spells ß and æ the ASCII way', 'Straße æ.txt', 'Strasse ae.txt'],
    ['folds compatibility characters', 'ｆｉｌｅ№１.txt', 'fileNo1.txt'],
    ['uses "download" for a Chinese stem', '中文.txt', 'download.txt'],
    ['uses "download" for a name without extension', '中文', 'download'],
    ['uses "download" for an emoji stem', '😀.png', 'download.png'],
    ['replaces a non-ASCII run by one underscore', 'report 中文 final.pdf', 'report _ final.pdf'],
    ['replaces double quotes', 'say "hi".txt', 'say _hi_.txt'],
    ['replaces backslashes', 'a\\b.txt', 'a_b.txt'],
    ['replaces percent signs', '%41.txt', '_41.txt'],
    ['removes control characters', 'a\r\n\u0000b.txt', 'ab.txt'],
    ['keeps an ASCII alphanumeric extension', 'données.CSV', 'donnees.CSV'],
    ['keeps a non-alphanumeric extension as part of the stem', 'notes.中', 'notes._'],
    ['falls back when neither stem nor extension is readable', '中文.日本', 'download'],
    ['keeps a dotfile name', '.env', '.env'],
    ['keeps a multi-part extension', 'archive.tar.gz', 'archive.tar.gz'],
    ['keeps other punctuation', "a-b_c (1) [x] {y} @#$&'+,;=!~.txt", "a-b_c (1) [x] {y} @#$&'+,;=!~.txt"],
  ])('%s', (_label, input, expected) => {
    expect(asciiFallback(input)).toBe(expected);
  });

  it.each([
    ['中文.txt'],
    ['a"b\\c%d\r\n.txt'],
    ['😀'],
    ['\u0000'],
    ['Ω≈ç√∫.bin'],
    ['x'.repeat(300) + '中'],
  ])('always answers printable ASCII without ", \\ or %% for %j', (input) => {
    const fallback = asciiFallback(input);
    expect(fallback).toMatch(/^[\x20-\x7e]+$/);
    expect(fallback).not.toMatch(/["\\%]/);
  });
});

describe('contentDispositionHeader', () => {
  describe('without a usable filename', () => {
    it.each([
      ['undefined', undefined, 'attachment', 'attachment'],
      ['an empty name', '', 'attachment', 'attachment'],
      ['a directory path', 'dir/', 'inline', 'inline'],
      ['".."', '..', 'attachment', 'attachment'],
      ['only control characters', '\r\n', 'inline', 'inline'],
    ] as const)('answers the bare type for %s', (_label, filename, type, expected) => {
      expect(contentDispositionHeader(filename, type)).toBe(expected);
    });
  });

  describe('with exact values', () => {
    it.each([
      ['a token name, unquoted', 'report.pdf', 'attachment', 'attachment; filename=report.pdf'],
      ['the inline type', 'photo.jpg', 'inline', 'inline; filename=photo.jpg'],
      ['a name with spaces, quoted', 'my report.pdf', 'attachment', 'attachment; filename="my report.pdf"'],
      ['a traversal path, reduced to its basename', '../../etc/passwd', 'attachment', 'attachment; filename=passwd'],
      ['a Windows path, reduced to its basename', 'C:\\x\\y.txt', 'attachment', 'attachment; filename=y.txt'],
      [
        'a literal percent, kept out of filename and encoded in filename*',
        '%41.txt',
        'attachment',
        "attachment; filename=_41.txt; filename*=UTF-8''%2541.txt",
      ],
      [
        'a quote, replaced in filename and encoded in filename*',
        'say "hi".txt',
        'attachment',
        'attachment; filename="say _hi_.txt"; filename*=UTF-8\'\'say%20%22hi%22.txt',
      ],
      [
        'Latin accents',
        'résumé.pdf',
        'attachment',
        "attachment; filename=resume.pdf; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf",
      ],
      [
        'a Chinese name',
        '中文.txt',
        'inline',
        "inline; filename=download.txt; filename*=UTF-8''%E4%B8%AD%E6%96%87.txt",
      ],
      [
        'an emoji',
        '😀.png',
        'attachment',
        "attachment; filename=download.png; filename*=UTF-8''%F0%9F%98%80.png",
      ],
      [
        'ASCII punctuation, quoted and without filename*',
        "it's (1)*.txt",
        'attachment',
        "attachment; filename=\"it's (1)*.txt\"",
      ],
      [
        "RFC 8187 attr-chars inside filename* (' ( ) * and space percent-encoded)",
        "é it's (1)*.txt",
        'attachment',
        "attachment; filename=\"e it's (1)*.txt\"; filename*=UTF-8''%C3%A9%20it%27s%20%281%29%2A.txt",
      ],
    ] as const)('formats %s', (_label, filename, type, expected) => {
      expect(contentDispositionHeader(filename, type)).toBe(expected);
    });
  });

  describe('with hostile or unusual names', () => {
    const names = [
      'plain.txt',
      'a\r\nSet-Cookie: x=1.txt',
      'a\nb.txt',
      'say "hi".txt',
      'back\\slash.txt',
      '../../etc/passwd',
      'C:\\x\\y.txt',
      'name with spaces.txt',
      '%41.txt',
      '100%.txt',
      '😀 party 🎉.png',
      '中文文件名.txt',
      'Ærøskøbing Straße résumé.pdf',
      'semi;colon=equals.txt',
      'tab\tname.txt',
      'bidi\u202Etxt.exe',
      'lone\ud800surrogate.txt',
      `${'長い名前'.repeat(100)}.txt`,
      `${'a'.repeat(1000)}.txt`,
    ];

    it.each(names.map((name) => [name]))('emits only printable ASCII for %j', (name) => {
      for (const type of ['attachment', 'inline'] as const) {
        const header = contentDispositionHeader(name, type);
        expect(header.startsWith(`${type}; filename`)).toBe(true);
        for (const char of header) {
          const code = char.charCodeAt(0);
          expect(code >= 0x20 && code <= 0x7e, `char ${code} in ${header}`).toBe(true);
        }
      }
    });

    it.each(names.map((name) => [name]))('lets a client recover the basename from %j', (name) => {
      const header = contentDispositionHeader(name, 'attachment');
      const basename = safeBasename(name);
      const star = /filename\*=UTF-8''([^;\s]*)/.exec(header);
      if (star) {
        expect(decodeURIComponent(star[1] ?? '')).toBe(basename);
      } else {
        // No filename*: the plain parameter must already be the exact name.
        expect(asciiFallback(basename)).toBe(basename);
      }
      // A conforming parser (the library's own) prefers filename* and gets the name back.
      expect(parse(header).parameters.filename).toBe(basename);
    });

    it('uses filename* whenever the name is not plain printable ASCII equal to its fallback', () => {
      expect(contentDispositionHeader('plain.txt', 'attachment')).not.toContain('filename*');
      expect(contentDispositionHeader('100%.txt', 'attachment')).toContain("filename*=UTF-8''100%25.txt");
      expect(contentDispositionHeader('back\\slash', 'attachment')).toBe('attachment; filename=slash');
    });
  });
});

const utf8 = (text: string) => Buffer.byteLength(text, 'utf8');

/** Whether `bytes` decode as UTF-8 without a single invalid sequence. */
function isValidUtf8(bytes: Uint8Array): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

describe('truncateFilename(name, maxBytes)', () => {
  it.each<[string, string, number, string]>([
    ['keeps a name that fits', 'report.pdf', 255, 'report.pdf'],
    ['keeps a name of exactly maxBytes', 'abcde.txt', 9, 'abcde.txt'],
    ['cuts the stem and keeps the extension', 'abcdefghij.txt', 9, 'abcde.txt'],
    ['keeps only the last extension whole', 'archive-of-things.tar.gz', 12, 'archive-o.gz'],
    ['drops blanks left at the end of the cut stem', 'ab   cdefgh.txt', 8, 'ab.txt'],
    ['cuts between whole 2-byte characters', 'ééééé.txt', 8, 'éé.txt'],
    ['cuts between whole 3-byte characters', '中文中文中文.txt', 11, '中文.txt'],
    ['never splits a surrogate pair', '😀😀😀.png', 10, '😀.png'],
    ['keeps an emoji sequence whole or leaves it out (grapheme cluster)', 'x👩‍👩‍👧.png', 14, 'x.png'],
    ['keeps a letter with its combining accent', 'e\u0301e\u0301e\u0301.txt', 10, 'e\u0301e\u0301.txt'],
    ['cuts the whole name when the extension is too long to keep', `a.${'x'.repeat(100)}`, 10, 'a.xxxxxxxx'],
    ['cuts the whole name when the extension would leave no stem', '😀😀.ab', 6, '😀'],
    ['does not take a leading dot for an extension', `.${'x'.repeat(20)}`, 8, '.xxxxxxx'],
    ['keeps the extension of the last path segment only', 'dir.v2/abcdefgh', 10, 'dir.v2/abc'],
    ['gives an empty name for a budget of 0', 'a.txt', 0, ''],
    ['makes a lone surrogate U+FFFD', 'a\ud800.txt', 255, 'a\ufffd.txt'],
  ])('%s', (_label, name, maxBytes, expected) => {
    const result = truncateFilename(name, maxBytes);
    expect(result).toBe(expected);
    expect(utf8(result)).toBeLessThanOrEqual(maxBytes);
  });

  it('cuts a single grapheme longer than the budget between its code points', () => {
    const zalgo = `a${'\u0300'.repeat(500)}`;
    const result = truncateFilename(zalgo, 11);
    expect(result).toBe(`a${'\u0300'.repeat(5)}`);
  });

  it.each([[-1], [1.5], [Number.NaN], [Number.POSITIVE_INFINITY]])('throws a RangeError for maxBytes %s', (maxBytes) => {
    expect(() => truncateFilename('a.txt', maxBytes)).toThrow(RangeError);
  });
});

describe('names of 20,000 characters', () => {
  const names: [string, string, string][] = [
    ['ASCII', `${'a'.repeat(20_000)}.pdf`, '.pdf'],
    ['CJK', `${'中文'.repeat(10_000)}.txt`, '.txt'],
    ['emoji', `${'😀'.repeat(10_000)}.png`, '.png'],
    ['emoji sequences', `${'👩‍👩‍👧'.repeat(4_000)}.jpg`, '.jpg'],
    ['mixed, with an accented extension', `${'aé中😀'.repeat(4_000)}.données`, '.données'],
    ['NFKD-expanding letters', `${'㎉'.repeat(20_000)}.txt`, '.txt'],
    ['a letter under combining marks', `e${'\u0301'.repeat(20_000)}.txt`, '.txt'],
  ];

  it.each(names)('safeBasename cuts a %s name to 255 UTF-8 bytes at most, keeping its extension', (_label, name, extension) => {
    const safe = safeBasename(name);
    expect(utf8(safe)).toBeLessThanOrEqual(MAX_FILENAME_BYTES);
    // No more is cut than one grapheme cluster (18 bytes for a family emoji).
    expect(utf8(safe)).toBeGreaterThan(MAX_FILENAME_BYTES - 18);
    expect(safe.endsWith(extension)).toBe(true);
    expect(isValidUtf8(Buffer.from(safe, 'utf8'))).toBe(true);
    expect(safe.isWellFormed()).toBe(true);
    expect(name.startsWith(safe.slice(0, -extension.length))).toBe(true);
  });

  it.each(names)('Content-Disposition for a %s name stays under 1,100 bytes and round-trips', (_label, name, extension) => {
    for (const type of ['attachment', 'inline'] as const) {
      const header = contentDispositionHeader(name, type);
      // Printable ASCII only, so its length in characters is its length in bytes.
      expect(header).toMatch(/^[\x20-\x7e]+$/);
      expect(header.length).toBeLessThan(1_100);
      const parsed = parse(header).parameters.filename!;
      expect(parsed).toBe(safeBasename(name));
      expect(parsed.endsWith(extension)).toBe(true);
    }
  });

  it('asciiFallback stays within the same bound, even where NFKD lengthens the name', () => {
    const fallback = asciiFallback(`${'㎉'.repeat(85)}.txt`);
    expect(fallback.length).toBeLessThanOrEqual(MAX_FILENAME_BYTES);
    expect(fallback.endsWith('.txt')).toBe(true);
  });
});
