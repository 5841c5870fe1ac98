import { describe, expect, it, vi } from 'vitest';
import type { HandoffTarget } from './handoff';

// Next bundles the engine into each route: the engine that hands a body over and the server that
// sends it are separate module instances in one process, and must still share one store.

function target(free: boolean): HandoffTarget {
  return { free, nameOffer: () => '1', accepts: () => false, take: () => undefined };
}

describe('handoffTargets', () => {
  it('is one store for every module instance of the hand-off in the process', async () => {
    const first = await import('./handoff');
    vi.resetModules();
    const second = await import('./handoff');
    expect(second).not.toBe(first);
    expect(second.handoffTargets()).toBe(first.handoffTargets());
  });

  it('lets one instance see the response another runs the request in, while it is free', async () => {
    const server = await import('./handoff');
    vi.resetModules();
    const engine = await import('./handoff');
    const free = target(true);
    expect(server.handoffTargets().run(free, () => engine.handoffTarget())).toBe(free);
    expect(server.handoffTargets().run(target(false), () => engine.handoffTarget())).toBeUndefined();
    expect(engine.handoffTarget()).toBeUndefined();
  });
});
