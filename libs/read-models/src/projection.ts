import type pg from 'pg';
import { type ReadAllFilter, type RecordedEvent } from '@audit-ledger/event-store';
import { type ReconciliationLocks } from './projections/reconciliation-locks.js';

/** One step of a projection's schema, applied once by the runner and recorded in `read_models.migrations`. */
export interface ReadModelMigration {
  /** Unique within the projection; recorded as `<projection>/<id>`. Never change an applied one: add another. */
  id: string;
  sql: string;
}

/**
 * Turns an event stored at `fromSchemaVersion` into the same event at `fromSchemaVersion + 1` (data and
 * `metadata.schemaVersion`). Upcasters chain: a v1 event meets the v1 upcaster, then the v2 one, and so on.
 */
export interface Upcaster {
  type: string;
  fromSchemaVersion: number;
  upcast(event: RecordedEvent): RecordedEvent;
}

/**
 * A projection: turns events into rows of its own tables in schema `read_models`. `apply` runs inside the runner's
 * batch transaction on `client` and must write only through it; the runner commits the rows together with the
 * projection's checkpoint. `apply` must be deterministic given the rows it reads, so that a rebuild from position 0
 * gives the same rows.
 *
 * Its SQL (migrations and `apply`) names every read-model object schema-qualified as `read_models.<name>`: a rebuild
 * runs the same SQL against a shadow schema by rewriting that prefix (`inSchema`), never by `search_path`.
 */
export interface Projection {
  /** Stable name: the checkpoint key and the advisory-lock key. */
  name: string;
  /**
   * Bump when the rows a history produces change; a stored checkpoint of another version asks for
   * `ledger projections rebuild <name>`.
   */
  version: number;
  /** Event types passed to `apply`; other events advance the checkpoint and are counted as skipped. */
  handles: readonly string[];
  /** Newest `metadata.schemaVersion` understood per type (after upcasting); default 1. Newer ones are skipped. */
  schemaVersions?: Readonly<Record<string, number>>;
  upcasters?: readonly Upcaster[];
  /** What the projection's subscription reads (e.g. stream prefixes); default everything. */
  filter?: ReadAllFilter;
  migrations: readonly ReadModelMigration[];
  /**
   * The `read_models` tables `apply` writes, its own and other projections' (unqualified names). Projections that
   * share a table are rebuilt together, and a rebuild swaps exactly these tables. Default: the tables its migrations
   * create (`CREATE TABLE read_models.<name>`).
   */
  tables?: readonly string[];
  /**
   * Called first in each batch's transaction, with the batch's events as stored (before `apply`): takes up front, in
   * one fixed order, locks that `apply` (or triggers it fires) would otherwise take one by one in event order, so that
   * concurrent batches of different projections cannot deadlock.
   */
  lockBatch?(client: pg.PoolClient, events: readonly RecordedEvent[]): Promise<void>;
  /**
   * The reconciliation locks a batch takes up front (the streams of its events of these types), declared rather than
   * taken in `lockBatch`, so that the runner takes those of all the projections of one batch in ONE statement and in
   * one order (`lockBatches`).
   */
  reconciliationLocks?: ReconciliationLocks;
  /**
   * Applies one event. `batch` is the batch's scratch space: writes whose results `apply` does not read back (e.g.
   * counter increments of summaries) can be gathered there and made once, set-based, at the end of the batch, in the
   * same transaction, before the checkpoint (`ProjectionBatch.deferred`). The runner and a rebuild always pass one,
   * after `lockBatch` (and `reconciliationLocks`) of the batch's events; without one (a single event applied on its
   * own), `apply` takes the locks those would have taken and makes its deferred writes at once.
   */
  apply(client: pg.PoolClient, event: RecordedEvent, batch?: ProjectionBatch): Promise<void>;
}

interface Deferred {
  value: unknown;
  flush(client: pg.PoolClient, value: unknown): Promise<void>;
}

/**
 * One batch of one projection, as the runner (or a rebuild) applies it in one transaction: holds what `apply` defers
 * to the batch's end. The runner calls `finish` after the last `apply` and before saving the checkpoint; an error
 * there fails the batch's last event (the batch is then applied again without it).
 */
export class ProjectionBatch {
  private readonly pending = new Map<string, Deferred>();

  constructor(
    /** The batch's events as stored, in global order (what `lockBatch` got). */
    readonly events: readonly RecordedEvent[],
  ) {}

  /**
   * The batch's value under `key`, created on first use; `flush` writes it once at the end of the batch (in the
   * order the keys were first used). Only for writes that later `apply` calls of the same batch do not read.
   */
  deferred<T>(key: string, create: () => T, flush: (client: pg.PoolClient, value: T) => Promise<void>): T {
    let entry = this.pending.get(key);
    if (!entry) {
      entry = { value: create(), flush: flush as Deferred['flush'] };
      this.pending.set(key, entry);
    }
    return entry.value as T;
  }

  /** Makes the deferred writes. */
  async finish(client: pg.PoolClient): Promise<void> {
    // A flush may defer more (e.g. gathered executions add to the summaries' increments): those are flushed after it.
    for (let next = this.pending.entries().next(); !next.done; next = this.pending.entries().next()) {
      const [key, entry] = next.value;
      this.pending.delete(key);
      await entry.flush(client, entry.value);
    }
  }
}

/**
 * Runs `apply` with the runner's `batch`, or, for a single event applied on its own, with a batch of that event
 * whose deferred writes are made right after it.
 */
export async function inBatch(
  client: pg.PoolClient,
  event: RecordedEvent,
  batch: ProjectionBatch | undefined,
  apply: (batch: ProjectionBatch) => Promise<void>,
): Promise<void> {
  if (batch) return apply(batch);
  const single = new ProjectionBatch([event]);
  await apply(single);
  await single.finish(client);
}

/** Whether `filter` lets `event` through (what a subscription with that filter would deliver). */
export function matchesFilter(filter: ReadAllFilter | undefined, event: RecordedEvent): boolean {
  if (!filter) return true;
  if (filter.eventTypes && !filter.eventTypes.includes(event.type)) return false;
  if (filter.streamPrefixes && !filter.streamPrefixes.some((prefix) => event.streamId.startsWith(prefix))) {
    return false;
  }
  return true;
}

/**
 * A filter that lets through at least everything each of `filters` does (the subscription of a worker that runs
 * several projections; each still sees only what `matchesFilter` passes for its own filter).
 */
export function unionFilter(filters: readonly (ReadAllFilter | undefined)[]): ReadAllFilter | undefined {
  if (filters.some((f) => !f || (!f.eventTypes && !f.streamPrefixes))) return undefined;
  const defined = filters as readonly ReadAllFilter[];
  if (defined.every((f) => f.streamPrefixes && !f.eventTypes)) {
    return { streamPrefixes: [...new Set(defined.flatMap((f) => f.streamPrefixes!))] };
  }
  if (defined.every((f) => f.eventTypes && !f.streamPrefixes)) {
    return { eventTypes: [...new Set(defined.flatMap((f) => f.eventTypes!))] };
  }
  return undefined;
}

/** The schema version an event was written with: `metadata.schemaVersion`, 1 when absent. */
export function schemaVersionOf(event: RecordedEvent): number {
  const version = event.metadata.schemaVersion;
  return typeof version === 'number' && Number.isInteger(version) && version > 0 ? version : 1;
}

export type Prepared = { kind: 'apply'; event: RecordedEvent } | { kind: 'skip'; reason: 'unhandled' | 'newer' };

/** Upcasts an event to the newest version the projection knows, or says why it is skipped. */
export function prepareEvent(projection: Projection, event: RecordedEvent): Prepared {
  if (!projection.handles.includes(event.type)) return { kind: 'skip', reason: 'unhandled' };
  let current = event;
  for (;;) {
    const version = schemaVersionOf(current);
    const upcaster = projection.upcasters?.find((u) => u.type === current.type && u.fromSchemaVersion === version);
    if (!upcaster) break;
    const next = upcaster.upcast(current);
    if (schemaVersionOf(next) <= version) {
      throw new Error(
        `Upcaster of ${current.type} v${version} in projection ${projection.name} returned schemaVersion ${schemaVersionOf(next)}`,
      );
    }
    current = next;
  }
  const supported = projection.schemaVersions?.[current.type] ?? 1;
  if (schemaVersionOf(current) > supported) return { kind: 'skip', reason: 'newer' };
  return { kind: 'apply', event: current };
}

/** The tables a projection writes: `tables`, else those its migrations create. */
export function tablesOf(projection: Projection): string[] {
  if (projection.tables) return [...projection.tables];
  const created = projection.migrations.flatMap((m) =>
    [...m.sql.matchAll(/CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?read_models\.([a-z_][a-z0-9_]*)/gi)].map(
      (x) => x[1]!,
    ),
  );
  return [...new Set(created)];
}
