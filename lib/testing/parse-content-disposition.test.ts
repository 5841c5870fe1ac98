import { describe, expect, it } from 'vitest';
import { contentDispositionHeader } from '../http/disposition';
import { parseContentDisposition } from './parse-content-disposition';

describe('parseContentDisposition', () => {
  describe('with a well-formed header', () => {
    it.each([
      ['a bare type', 'attachment', 'attachment', {}, undefined],
      ['a type in upper case', 'INLINE', 'inline', {}, undefined],
      ['a token filename', 'attachment; filename=report.pdf', 'attachment', { filename: 'report.pdf' }, 'report.pdf'],
      ['a quoted filename with spaces', 'attachment; filename="my report.pdf"', 'attachment', { filename: 'my report.pdf' }, 'my report.pdf'],
      ['quoted-pair escapes', 'attachment; filename="say \\"hi\\" \\\\ bye.txt"', 'attachment', { filename: 'say "hi" \\ bye.txt' }, 'say "hi" \\ bye.txt'],
      ['a ; and = inside quotes', 'inline; filename="a;b=c.txt"', 'inline', { filename: 'a;b=c.txt' }, 'a;b=c.txt'],
      ['a % in filename, taken literally', 'attachment; filename="100%25.txt"', 'attachment', { filename: '100%25.txt' }, '100%25.txt'],
      ['an RFC 8187 filename*', "attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf", 'attachment', { 'filename*': 'résumé.pdf' }, 'résumé.pdf'],
      ['filename* in lower-case charset', "attachment; filename*=utf-8''%E4%B8%AD.txt", 'attachment', { 'filename*': '中.txt' }, '中.txt'],
      ['filename* with a language', "attachment; filename*=UTF-8'en'%E2%82%AC%20rates.txt", 'attachment', { 'filename*': '€ rates.txt' }, '€ rates.txt'],
      ['filename* in ISO-8859-1', "attachment; filename*=ISO-8859-1''%E9t%E9.txt", 'attachment', { 'filename*': 'été.txt' }, 'été.txt'],
      ['parameter names in any case', 'attachment; FileName=a.txt', 'attachment', { filename: 'a.txt' }, 'a.txt'],
      ['blanks around ; and =', 'attachment ;\tfilename = "a.txt" ', 'attachment', { filename: 'a.txt' }, 'a.txt'],
      ['a trailing ;', 'attachment; filename=a.txt;', 'attachment', { filename: 'a.txt' }, 'a.txt'],
      ['other parameters', 'attachment; filename=a.txt; size=12', 'attachment', { filename: 'a.txt', size: '12' }, 'a.txt'],
      ['an extension type', 'form-data; name="field"', 'form-data', { name: 'field' }, undefined],
    ])('reads %s', (_label, header, type, parameters, filename) => {
      const parsed = parseContentDisposition(header);
      expect(parsed.type).toBe(type);
      expect({ ...parsed.parameters }).toEqual(parameters);
      expect(parsed.filename).toBe(filename);
    });

    it('prefers filename* to filename, whichever comes first', () => {
      expect(parseContentDisposition(`attachment; filename="e.txt"; filename*=UTF-8''%C3%A9.txt`).filename).toBe('é.txt');
      expect(parseContentDisposition(`attachment; filename*=UTF-8''%C3%A9.txt; filename="e.txt"`).filename).toBe('é.txt');
    });

    it('keeps both forms in parameters', () => {
      const { parameters } = parseContentDisposition(`attachment; filename="e.txt"; filename*=UTF-8''%C3%A9.txt`);
      expect(parameters.filename).toBe('e.txt');
      expect(parameters['filename*']).toBe('é.txt');
    });

    it('does not let a parameter called __proto__ touch the prototype', () => {
      const { parameters } = parseContentDisposition('attachment; __proto__=x');
      expect(parameters.__proto__).toBe('x');
      expect(Object.getPrototypeOf({})).toBe(Object.prototype);
    });

    it.each(['report.pdf', 'my report.pdf', 'résumé.pdf', '中文 报告.pdf', 'say "hi".txt', '100%.txt', '😀.png'])(
      "reads back the kit's own header for %s",
      (name) => {
        const parsed = parseContentDisposition(contentDispositionHeader(name, 'attachment'));
        expect(parsed.type).toBe('attachment');
        expect(parsed.filename).toBe(name);
      },
    );
  });

  describe('with a malformed header', () => {
    it.each([
      ['an empty header', '', /expected a disposition type at position 0/],
      ['no type', '; filename=a.txt', /expected a disposition type/],
      ['a type and a parameter without ;', 'attachment filename=a.txt', /expected ";" at position 11/],
      ['an unquoted space', 'attachment; filename=my report.pdf', /expected ";" at position 24/],
      ['a parameter without =', 'attachment; filename', /expected "=" after filename/],
      ['a parameter without value', 'attachment; filename=', /expected a token or a quoted string for filename/],
      ['an unterminated quoted string', 'attachment; filename="a.txt', /expected a token or a quoted string/],
      ['a raw line break in quotes', 'attachment; filename="a\nb.txt"', /expected a token or a quoted string/],
      ['a repeated filename', 'attachment; filename=a.txt; filename=b.txt', /filename is repeated at position 28/],
      ['a repeated filename in another case', 'attachment; filename=a.txt; FILENAME=b.txt', /filename is repeated/],
      ['a quoted filename*', `attachment; filename*="UTF-8''a.txt"`, /filename\* must not be quoted/],
      ['a filename* without charset', 'attachment; filename*=a.txt', /filename\* is not charset'language'value/],
      ['a filename* with a raw quote', `attachment; filename*=UTF-8''it's.txt`, /not charset'language'value/],
      ['a filename* in another charset', `attachment; filename*=UTF-16''a.txt`, /charset UTF-16/],
      ['a filename* that is not UTF-8', `attachment; filename*=UTF-8''%FF.txt`, /not valid UTF-8/],
    ])('throws a TypeError for %s', (_label, header, message) => {
      expect(() => parseContentDisposition(header)).toThrow(TypeError);
      expect(() => parseContentDisposition(header)).toThrow(message);
    });
  });
});
