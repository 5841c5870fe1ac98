import { describe, expect, it, vi } from 'vitest';
import { ConfigurationError } from '../errors';
import { allOf } from './all-of';
import type { AuthorizeHook } from './signed';

const request = new Request('http://x/a.txt');
const params = { path: ['a.txt'] };
const denial = new Response('no', { status: 401 });

describe('allOf', () => {
  it('passes when every hook passes (true or nothing)', async () => {
    const a = vi.fn<AuthorizeHook>(() => true);
    const b = vi.fn<AuthorizeHook>(async () => undefined);
    expect(await allOf(a, b)(request, params)).toBeUndefined();
    expect(a).toHaveBeenCalledWith(request, params);
    expect(b).toHaveBeenCalledWith(request, params);
  });

  it.each([
    ['false', false],
    ['a Response', denial],
  ])('answers with the first refusal (%s) and runs no later hook', async (_label, verdict) => {
    const first = vi.fn<AuthorizeHook>(() => true);
    const refusing = vi.fn<AuthorizeHook>(async () => verdict);
    const later = vi.fn<AuthorizeHook>(() => true);
    expect(await allOf(first, refusing, later)(request, params)).toBe(verdict);
    expect(first).toHaveBeenCalledTimes(1);
    expect(later).not.toHaveBeenCalled();
  });

  it('lets an error thrown by a hook through, so the engine maps it', async () => {
    const later = vi.fn<AuthorizeHook>(() => true);
    const failing: AuthorizeHook = () => {
      throw new Error('boom');
    };
    await expect(allOf(failing, later)(request, params)).rejects.toThrow('boom');
    expect(later).not.toHaveBeenCalled();
  });

  it('throws at creation without hooks, or with one that is not a function', () => {
    expect(() => allOf()).toThrow(ConfigurationError);
    expect(() => allOf(() => true, 'yes' as unknown as AuthorizeHook)).toThrow(/hook 2 is not a function/);
  });
});
