import { OrderedLanes } from './ordered-lanes.js';

const deferred = () => {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
};
const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('ordered lanes', () => {
  it('given work on two streams, then they run at the same time, one stream in order, and the safe position only passes finished work', async () => {
    const lanes = new OrderedLanes(0n, 10);
    const a1 = deferred();
    const started: string[] = [];
    await lanes.submit('a', 1n, async () => {
      started.push('a1');
      await a1.promise;
    });
    await lanes.submit('b', 2n, async () => void started.push('b2'));
    await lanes.submit('a', 3n, async () => void started.push('a3'));
    await tick();
    expect(started).toEqual(['a1', 'b2']); // a3 waits for a1; b2 did not
    expect(lanes.safePosition).toBe(0n); // b2 is done, but a1 below it is not
    a1.resolve();
    await lanes.drain();
    expect(started).toEqual(['a1', 'b2', 'a3']);
    expect(lanes.safePosition).toBe(3n);
  });

  it('given a failure, then the safe position stops below it and no new work starts', async () => {
    const lanes = new OrderedLanes(10n, 10);
    const ran: bigint[] = [];
    await lanes.submit('a', 11n, async () => void ran.push(11n));
    await lanes.submit('b', 12n, async () => {
      throw new Error('boom');
    });
    await lanes.drain();
    await lanes.submit('c', 13n, async () => void ran.push(13n));
    await lanes.drain();
    expect(ran).toEqual([11n]);
    expect(lanes.failed?.error).toEqual(new Error('boom'));
    expect(lanes.safePosition).toBe(11n);
  });

  it('given the in-flight limit is reached, then submit waits for a slot', async () => {
    const lanes = new OrderedLanes(0n, 1);
    const first = deferred();
    let admitted = false;
    const submitted = lanes.submit('a', 1n, () => first.promise).then(() => (admitted = true));
    await tick();
    expect(admitted).toBe(false);
    first.resolve();
    await submitted;
    expect(admitted).toBe(true);
    expect(lanes.safePosition).toBe(1n);
  });
});
