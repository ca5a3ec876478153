import { performance } from 'node:perf_hooks';
import { firstValueFrom } from 'rxjs';
import { ReplyDeadlinePassed, runningTimeDeadline } from './running-time-deadline.js';

/** The process does not run for `ms`: what a long garbage collection or a starved CPU does to it. */
function stall(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

/** After every timer due by now (the deadline's ticks among them) and the immediates they scheduled. */
async function afterDueTimers(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 0));
  await new Promise((resolve) => setImmediate(resolve));
}

describe('the reply deadline, counted in time the process ran', () => {
  it('given the process stalls for longer than the timeout, then the deadline has not passed when it runs again, and passes once it has run that long', async () => {
    let passed = false;
    const deadline = firstValueFrom(runningTimeDeadline(500)).catch((error: unknown) => {
      passed = true;
      throw error;
    });

    stall(2_000);
    await afterDueTimers();

    expect(passed).toBe(false);
    await expect(deadline).rejects.toEqual(new ReplyDeadlinePassed(500));
  });

  it('given its subscriber leaves (the reply came), then it never fails', async () => {
    let failed = false;
    const subscription = runningTimeDeadline(50).subscribe({ error: () => (failed = true) });
    subscription.unsubscribe();

    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(failed).toBe(false);
  });
});
