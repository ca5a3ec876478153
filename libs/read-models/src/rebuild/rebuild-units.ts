import { tablesOf, type Projection } from '../projection.js';

/** Projections rebuilt together because they write common tables, and those tables. */
export interface RebuildUnit {
  /** In the runner's order (a projection's migrations may alter the tables of one before it). */
  projections: Projection[];
  /** Every table the unit's projections write; a rebuild swaps exactly these. */
  tables: string[];
}

export class UnknownProjectionError extends Error {
  readonly code = 'READ_MODELS.UNKNOWN_PROJECTION';
  constructor(
    readonly projection: string,
    readonly known: string[],
  ) {
    super(`Unknown projection ${projection}; known projections: ${known.join(', ')}`);
  }
}

/**
 * The units that rebuilding `names` (default: all) takes: each named projection with every projection that shares
 * a table with it, transitively (e.g. `reconciliation` writes `approvals` and `executions` rows, so rebuilding any
 * of the three rebuilds all three).
 */
export function rebuildUnits(projections: readonly Projection[], names?: readonly string[]): RebuildUnit[] {
  const known = projections.map((p) => p.name);
  for (const name of names ?? []) if (!known.includes(name)) throw new UnknownProjectionError(name, known);
  const tables = new Map(projections.map((p) => [p.name, new Set(tablesOf(p))]));
  const shares = (a: Projection, b: Projection): boolean =>
    [...tables.get(a.name)!].some((table) => tables.get(b.name)!.has(table));
  const units: Projection[][] = [];
  const placed = new Set<string>();
  for (const start of projections) {
    if (placed.has(start.name)) continue;
    const members = new Set([start.name]);
    for (let grew = true; grew;) {
      grew = false;
      for (const candidate of projections) {
        if (members.has(candidate.name)) continue;
        if (projections.some((m) => members.has(m.name) && shares(m, candidate))) {
          members.add(candidate.name);
          grew = true;
        }
      }
    }
    for (const name of members) placed.add(name);
    units.push(projections.filter((p) => members.has(p.name)));
  }
  const wanted = names === undefined ? units : units.filter((unit) => unit.some((p) => names.includes(p.name)));
  return wanted.map((unit) => ({
    projections: unit,
    tables: [...new Set(unit.flatMap((p) => [...tables.get(p.name)!]))],
  }));
}
