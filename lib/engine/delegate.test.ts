import { describe, expect, it } from 'vitest';
import { leftTo } from './delegate';

describe('leftTo(delegate)', () => {
  it('leaves Range and every precondition to the web server, which answers them from the file it has', () => {
    expect([...leftTo('web server')].sort()).toEqual(
      ['if-match', 'if-modified-since', 'if-none-match', 'if-range', 'if-unmodified-since', 'range'],
    );
  });

  it('leaves Range and If-Range to the store; the app answers preconditions before it redirects (RFC 9110 §13.2.2)', () => {
    expect([...leftTo('store')].sort()).toEqual(['if-range', 'range']);
  });
});
