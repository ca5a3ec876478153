import type { LedgerUnderTest } from './ledger-app.js';

/** A re-reconciliation job as `GET /v1/reconciliation/reruns/{id}` shows it (the fields tests look at). */
export interface RerunJobView {
  id: string;
  state: 'running' | 'finished' | 'cancelled' | 'failed';
  examined: number;
  total: number | null;
  recorded: { streamId: string; executionId: string; type: string; kind?: string }[];
  eventsPerSecond: number;
  cancelRequested: boolean;
}

/** Polls a job (no fixed sleeps) until `condition` holds; by default until it is no longer running. */
export async function rerunJobUntil(
  t: LedgerUnderTest,
  id: string,
  condition: (view: RerunJobView) => boolean = (view) => view.state !== 'running',
  timeoutMs = 30_000,
): Promise<RerunJobView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const view = (await t.http('GET', `/v1/reconciliation/reruns/${id}`)).body as RerunJobView;
    if (condition(view)) return view;
    if (Date.now() > deadline) throw new Error(`re-run job ${id}: condition not met; last ${JSON.stringify(view)}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Starts a re-run and follows it to its end, as `ledger reconcile --since` does: `{ status, body }` of the end. */
export async function rerunToEnd(t: LedgerUnderTest, since: string): Promise<{ status: number; body: unknown }> {
  const started = await t.http('POST', '/v1/reconciliation/rerun', { since });
  if (started.status !== 202) return started;
  return { status: 200, body: await rerunJobUntil(t, (started.body as RerunJobView).id) };
}
