import { describe, expect, it, vi } from 'vitest';

// Next bundles the engine into each route: the engine that hands a file over and the server that
// sends it are separate module instances in one process, and must still share one store.

describe('fileBodySlots', () => {
  it('is one store for every module instance of the hand-off in the process', async () => {
    const first = await import('./file-handoff');
    vi.resetModules();
    const second = await import('./file-handoff');
    expect(second).not.toBe(first);
    expect(second.fileBodySlots()).toBe(first.fileBodySlots());
  });

  it('lets one instance see the slot another opened for the request', async () => {
    const server = await import('./file-handoff');
    vi.resetModules();
    const engine = await import('./file-handoff');
    const slot = { res: { headersSent: false, destroyed: false } } as Parameters<ReturnType<typeof server.fileBodySlots>['run']>[0];
    const seen = server.fileBodySlots().run(slot, () => engine.fileBodySlots().getStore());
    expect(seen).toBe(slot);
  });
});
