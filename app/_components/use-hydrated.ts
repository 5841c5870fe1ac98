import { useSyncExternalStore } from 'react';

const subscribe = () => () => {};

/**
 * False in the server's HTML and while React hydrates it, true from then on. Controls whose
 * work needs JavaScript stay disabled until it runs, so an early click is not lost (or sent
 * as a plain form post).
 */
export function useHydrated(): boolean {
  return useSyncExternalStore(
    subscribe,
    () => true,
    () => false,
  );
}
