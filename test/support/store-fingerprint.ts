import type { LedgerUnderTest } from './ledger-app.js';

/**
 * A cheap fingerprint of everything a request could change: the events (count, last position, digest of the hash
 * chain) and every table of schema `read_models` but the retention job's bookkeeping (row count and a digest of the
 * rows). `ignoreTypes`: events left out
 * (the records of refusals, which a refused request is meant to add).
 */
export async function storeFingerprint(
  t: LedgerUnderTest,
  options: { ignoreTypes?: readonly string[] } = {},
): Promise<Record<string, string>> {
  const [events] = await t.sql<{ fingerprint: string }>(
    `SELECT count(*)::text || ' events, last ' || coalesce(max(global_position)::text, '-') || ', ' ||
            coalesce(md5(string_agg(hash, '' ORDER BY global_position)), '-') AS fingerprint
       FROM ledger.events WHERE NOT (type = ANY($1::text[]))`,
    [options.ignoreTypes ?? []],
  );
  const tables = await t.sql<{ name: string }>(
    `SELECT table_name AS name FROM information_schema.tables
      WHERE table_schema = 'read_models' AND table_type = 'BASE TABLE'
        -- the retention job's own bookkeeping (its schedule runs whatever requests do)
        AND table_name <> 'retention'
      ORDER BY table_name`,
  );
  const fingerprint: Record<string, string> = { 'ledger.events': events!.fingerprint };
  for (const { name } of tables) {
    const [row] = await t.sql<{ fingerprint: string }>(
      `SELECT count(*)::text || ' rows, ' || coalesce(md5(string_agg(r::text, '|' ORDER BY r::text)), '-') AS fingerprint
         FROM read_models."${name}" r`,
    );
    fingerprint[`read_models.${name}`] = row!.fingerprint;
  }
  return fingerprint;
}

/** Waits until the fingerprint holds still for a moment (the reconciler and projections have caught up). */
export async function settledFingerprint(
  t: LedgerUnderTest,
  options: { ignoreTypes?: readonly string[] } = {},
): Promise<Record<string, string>> {
  let previous = await storeFingerprint(t, options);
  for (let i = 0; i < 100; i++) {
    await new Promise((resolve) => setTimeout(resolve, 300));
    const current = await storeFingerprint(t, options);
    if (JSON.stringify(current) === JSON.stringify(previous)) return current;
    previous = current;
  }
  throw new Error('the store never settled');
}
