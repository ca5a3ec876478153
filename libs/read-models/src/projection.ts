import type pg from 'pg';
import { type ReadAllFilter, type RecordedEvent } from '@audit-ledger/event-store';

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
 */
export interface Projection {
  /** Stable name: the checkpoint key and the advisory-lock key. */
  name: string;
  /** Bump when the rows a history produces change; a stored checkpoint of another version asks for a rebuild. */
  version: number;
  /** Event types passed to `apply`; other events advance the checkpoint and are counted as skipped. */
  handles: readonly string[];
  /** Newest `metadata.schemaVersion` understood per type (after upcasting); default 1. Newer ones are skipped. */
  schemaVersions?: Readonly<Record<string, number>>;
  upcasters?: readonly Upcaster[];
  /** What the projection's subscription reads (e.g. stream prefixes); default everything. */
  filter?: ReadAllFilter;
  migrations: readonly ReadModelMigration[];
  apply(client: pg.PoolClient, event: RecordedEvent): Promise<void>;
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
