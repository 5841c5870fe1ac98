import { describe, it, expect } from 'vitest';
import { isActiveContentType, resolveContentType } from './content-type';

type Input = Parameters<typeof resolveContentType>[0];

describe('resolveContentType', () => {
  describe('choosing the media type', () => {
    it.each<[string, Input, string]>([
      ['prefers the explicit option', { explicit: 'image/png', source: 'image/gif', name: 'a.pdf' }, 'image/png'],
      ['uses the source type without an explicit one', { source: 'image/gif', name: 'a.pdf' }, 'image/gif'],
      ['guesses from the name without explicit or source type', { name: 'a.pdf' }, 'application/pdf'],
      ['guesses from the last path segment', { name: 'docs.v2/a.PDF' }, 'application/pdf'],
      ['falls back to octet-stream for an unknown extension', { name: 'a.unknownext' }, 'application/octet-stream'],
      ['falls back to octet-stream for a name without extension', { name: 'README' }, 'application/octet-stream'],
      ['does not take a bare name for an extension', { name: 'json' }, 'application/octet-stream'],
      ['does not take a dotfile name for an extension', { name: '.json' }, 'application/octet-stream'],
      ['falls back to octet-stream with no input', {}, 'application/octet-stream'],
      ['skips an empty explicit type', { explicit: '', name: 'a.pdf' }, 'application/pdf'],
      ['skips an invalid explicit type', { explicit: 'not a type', source: 'image/gif' }, 'image/gif'],
      ['skips a source type with CR/LF', { source: 'text/html\r\nX-Evil: 1', name: 'a.png' }, 'image/png'],
      ['skips a type with text after the subtype', { source: 'text/plain x', name: 'a.png' }, 'image/png'],
      ['skips a type without subtype', { source: 'text', name: 'a.png' }, 'image/png'],
    ])('%s', (_label, input, expected) => {
      expect(resolveContentType(input)).toBe(expected);
    });
  });

  describe('adding a charset', () => {
    it.each<[string, Input, string]>([
      ['adds utf-8 to text/plain', { name: 'a.txt' }, 'text/plain; charset=utf-8'],
      ['adds utf-8 to text/html', { source: 'text/html' }, 'text/html; charset=utf-8'],
      ['adds utf-8 to text/csv', { name: 'a.csv' }, 'text/csv; charset=utf-8'],
      ['adds utf-8 to an unknown text subtype', { source: 'text/x-whatever' }, 'text/x-whatever; charset=utf-8'],
      ['adds utf-8 to application/json', { name: 'a.json' }, 'application/json; charset=utf-8'],
      ['adds utf-8 to application/javascript', { explicit: 'application/javascript' }, 'application/javascript; charset=utf-8'],
      ['adds utf-8 to a +json suffix', { source: 'application/ld+json' }, 'application/ld+json; charset=utf-8'],
      ['adds utf-8 to a +xml suffix', { name: 'a.svg' }, 'image/svg+xml; charset=utf-8'],
      ['uses the given charset', { name: 'a.txt', charset: 'iso-8859-1' }, 'text/plain; charset=iso-8859-1'],
      ['ignores an invalid given charset', { name: 'a.txt', charset: 'utf-8\r\nX: y' }, 'text/plain; charset=utf-8'],
      ['treats a lone ";" as no parameters', { source: 'text/plain;' }, 'text/plain; charset=utf-8'],
    ])('%s', (_label, input, expected) => {
      expect(resolveContentType(input)).toBe(expected);
    });

    it.each<[string, Input]>([
      ['image/png', { name: 'a.png', charset: 'utf-8' }],
      ['application/octet-stream', { name: 'a.bin', charset: 'utf-8' }],
      ['the octet-stream fallback', { charset: 'utf-8' }],
      ['application/pdf', { name: 'a.pdf' }],
      ['application/zip', { name: 'a.zip' }],
      ['video/mp4', { name: 'a.mp4' }],
    ])('adds none to %s', (_label, input) => {
      expect(resolveContentType(input)).not.toContain('charset');
    });
  });

  describe('with parameters already present', () => {
    it.each<[string, Input, string]>([
      ['keeps a given charset', { explicit: 'text/html; charset=iso-8859-1', charset: 'utf-8' }, 'text/html; charset=iso-8859-1'],
      ['keeps other parameters as given, without adding a charset', { source: 'text/plain; format=flowed' }, 'text/plain; format=flowed'],
      ['keeps parameters on a binary type', { source: 'application/octet-stream; x=1' }, 'application/octet-stream; x=1'],
      ['keeps the spelling of parameters', { source: 'text/html;Charset="UTF-8"' }, 'text/html;Charset="UTF-8"'],
    ])('%s', (_label, input, expected) => {
      expect(resolveContentType(input)).toBe(expected);
    });
  });

  describe('with letter case', () => {
    it.each<[string, Input, string]>([
      ['lowercases the media type', { explicit: 'Image/PNG' }, 'image/png'],
      ['lowercases the media type but not the parameters', { explicit: 'Text/HTML; Charset=UTF-8' }, 'text/html; Charset=UTF-8'],
      ['lowercases before deciding it is textual', { source: 'TEXT/PLAIN' }, 'text/plain; charset=utf-8'],
      ['trims surrounding whitespace', { source: '  image/png  ' }, 'image/png'],
    ])('%s', (_label, input, expected) => {
      expect(resolveContentType(input)).toBe(expected);
    });
  });
});

describe('isActiveContentType(contentType)', () => {
  describe('types a browser renders as a document that can run script', () => {
    it.each<[string, string | null | undefined]>([
      ['HTML', 'text/html'],
      ['HTML with a charset', 'text/html; charset=utf-8'],
      ['HTML in another case, with parameters', 'Text/HTML; Charset="UTF-8"'],
      ['HTML with surrounding blanks', ' \ttext/html \t'],
      ['HTML with blanks before the parameters', 'text/html ; charset=utf-8'],
      ['SVG', 'image/svg+xml'],
      ['SVG with blanks around it', ' image/svg+xml '],
      ['SVG in capitals', 'IMAGE/SVG+XML; charset=utf-8'],
      ['XHTML', 'application/xhtml+xml'],
      ['XML as text/xml', 'text/xml'],
      ['XML as application/xml', 'application/xml'],
      ['XSLT as text/xsl', 'text/xsl'],
      ['XSLT as application/xslt+xml', 'application/xslt+xml'],
      ['RSS (+xml)', 'application/rss+xml'],
      ['Atom (+xml)', 'application/atom+xml'],
      ['MathML as text/mathml', 'text/mathml'],
      ['MathML as application/mathml+xml', 'application/mathml+xml'],
      ['any vendor +xml type', 'application/vnd.example.thing+xml; v=2'],
      ['an XML DTD', 'application/xml-dtd'],
      ['an XML external parsed entity', 'text/xml-external-parsed-entity'],
      ['multipart/x-mixed-replace, whose parts render as their own types', 'multipart/x-mixed-replace; boundary=x'],
      ['MHTML as multipart/related', 'multipart/related; type="text/html"'],
      ['MHTML as message/rfc822', 'message/rfc822'],
      ['unknown/unknown, which browsers sniff', 'unknown/unknown'],
      ['application/unknown, which browsers sniff', 'application/unknown'],
      ['*/*, which browsers sniff', '*/*'],
      ['Flash', 'application/x-shockwave-flash'],
      ['a list whose last type is HTML (Fetch takes the last valid one)', 'text/plain, text/html'],
      ['a list whose first type is HTML', 'text/html, text/plain'],
      ['a missing type (browsers sniff)', undefined],
      ['a null type (an absent header)', null],
      ['an empty type', ''],
      ['blanks only', '   '],
      ['a value in which no type parses', 'not a type'],
      ['a type without a subtype', 'text'],
      ['a type with a space inside', 'text /html'],
    ])('%s: %j', (_label, contentType) => {
      expect(isActiveContentType(contentType)).toBe(true);
    });
  });

  describe('types that do not run script on the origin', () => {
    it.each<[string, string]>([
      ['plain text', 'text/plain; charset=utf-8'],
      ['CSV', 'text/csv'],
      ['CSS', 'text/css'],
      ['JavaScript, shown as text when opened', 'text/javascript'],
      ['JavaScript as application/javascript', 'application/javascript; charset=utf-8'],
      ['JSON', 'application/json'],
      ['a +json type', 'application/ld+json'],
      ['PDF, rendered by the browser\'s own viewer', 'application/pdf'],
      ['PNG', 'image/png'],
      ['JPEG', 'image/jpeg'],
      ['video', 'video/mp4'],
      ['audio', 'audio/mpeg'],
      ['binary', 'application/octet-stream'],
      ['a ZIP', 'application/zip'],
      ['a multipart/byteranges answer', 'multipart/byteranges; boundary=abc'],
      ['a type that only starts like XML', 'application/xml+foo'],
      ['a type with xml inside its name', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document'],
      ['a subtype that ends in xml without the plus', 'application/x-somexml'],
      ['an HTML-looking parameter', 'text/plain; x=text/html'],
    ])('%s: %j', (_label, contentType) => {
      expect(isActiveContentType(contentType)).toBe(false);
    });
  });

  it.each([['a.html'], ['a.htm'], ['a.shtml'], ['a.svg'], ['a.svgz'], ['a.xhtml'], ['a.xht'], ['a.xml'], ['a.xsl'], ['a.xslt'], ['a.mht'], ['a.mhtml'], ['a.rss'], ['a.rdf']])(
    'counts the type guessed from a client\'s name %j as active',
    (name) => {
      expect(isActiveContentType(resolveContentType({ name }))).toBe(true);
    },
  );
});
