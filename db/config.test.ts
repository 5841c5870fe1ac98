import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { databaseTarget, describeDatabase, isPostgresUrl } from './config';

describe('databaseTarget(url)', () => {
  it.each(['postgres://u@h/db', 'postgresql://u:p@h:5432/db?sslmode=require', 'POSTGRES://h/db'])('is Postgres for %s, the URL kept as given', (url) => {
    expect(databaseTarget(url)).toEqual({ dialect: 'postgres', url });
    expect(isPostgresUrl(url)).toBe(true);
  });

  it.each([
    [undefined, 'var/demo.db'],
    ['', 'var/demo.db'],
    ['data/my.db', 'data/my.db'],
    ['file:data/my.db', 'data/my.db'],
    ['/srv/demo.db', '/srv/demo.db'],
    ['file:///srv/demo.db', '/srv/demo.db'],
  ])('is the SQLite file for %j', (url, file) => {
    expect(databaseTarget(url)).toEqual({ dialect: 'sqlite', file: path.resolve(file) });
  });

  it.each(['mysql://u@h/db', 'sqlite://demo.db', 'http://x/db'])('refuses %s instead of making a file of that name', (url) => {
    expect(() => databaseTarget(url)).toThrow(/SQLite \(a file path\) or Postgres/);
  });

  it.each(['postgres:/h/db', 'postgresql:h/db', 'Postgres:'])('refuses the mistyped Postgres URL %s', (url) => {
    expect(() => databaseTarget(url)).toThrow(/starts with postgres:\/\//);
  });
});

describe('describeDatabase(target)', () => {
  it('hides the password of a Postgres URL', () => {
    const text = describeDatabase(databaseTarget('postgres://app:s3cret@db.internal:5432/demo'));
    expect(text).toBe('Postgres postgres://app:***@db.internal:5432/demo');
    expect(text).not.toContain('s3cret');
  });

  it('names the SQLite file', () => {
    expect(describeDatabase(databaseTarget('x.db'))).toBe(`SQLite ${path.resolve('x.db')}`);
  });
});
