import { setTimeout as sleep } from 'node:timers/promises';

/** Polls `probe` until it returns a value (not undefined), or fails after `ms` naming what was awaited. */
export async function eventually<T>(
  probe: () => T | undefined | Promise<T | undefined>,
  ms: number,
  what = 'a value',
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`waited ${ms} ms for ${what}`);
    await sleep(50);
  }
}
