import {
  ARCHIVES_STREAM,
  decideArchive,
  dropApprovers,
  evolveArchives,
  initialArchivesState,
  isArchiveStreamEvent,
  type ArchiveDroppedData,
  type ArchiveFile,
  type ArchiveSealedData,
  type ArchivesState,
  type ArchiveStreamEvent,
  type Principal,
} from '@audit-ledger/domain';
import {
  handleDeciderCommand,
  StreamNotFoundError,
  type EventStore,
  type RecordedEvent,
} from '@audit-ledger/event-store';
import {
  EMPTY_TREE_ROOT,
  parseSealedCheckpoint,
  signTombstone,
  type BundlePublicKey,
  type PublicKeyRing,
  type SigningKey,
} from '@audit-ledger/integrity';
import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { CHECKPOINTS_STREAM, CHECKPOINT_SEALED } from '@audit-ledger/evidence';
import { verifyArchiveChain } from './archive-chain.js';
import { ArchiveFileChecks } from './archive-file-checks.js';
import { listPartitions, newestRecordedAt, releaseAndDetach, type EventPartition } from './archive-sql.js';
import {
  ArchiveRefusedError,
  readArchiveRange,
  writeArchiveRange,
  type ArchiveRange,
  type PositionedCheckpoint,
} from './archive-writer.js';

/** Positions per archive file at most (a file is built in memory). */
export const MAX_ARCHIVE_FILE_POSITIONS = 50_000n;

export interface ArchiveContext {
  /** The owner's (or a superuser's) connection: reads the partitions, detaches them on drop. */
  databaseUrl: string;
  /** The store the archive events are appended to. */
  store: EventStore;
  /** The authenticated principal doing this. */
  principal: Principal;
  now?: () => Date;
}

/** The `archives` stream folded (events of it archived away earlier are gone: the newest ones hold what counts). */
export async function readArchives(store: EventStore): Promise<{ state: ArchivesState; revision: number }> {
  const events = await store.readStream(ARCHIVES_STREAM, { fromRevision: 0 }).catch((error: unknown) => {
    if (error instanceof StreamNotFoundError) return [];
    throw error;
  });
  return { state: foldArchives(events), revision: events.at(-1)?.streamRevision ?? -1 };
}

function foldArchives(events: readonly RecordedEvent[]): ArchivesState {
  let state = initialArchivesState();
  for (const event of events) {
    if (isArchiveStreamEvent(event)) state = evolveArchives(state, event);
  }
  return state;
}

async function appendArchiveEvents(
  context: ArchiveContext,
  events: readonly ArchiveStreamEvent[],
  revision: number,
): Promise<void> {
  if (events.length === 0) return;
  const now = (context.now ?? (() => new Date()))().toISOString();
  await context.store.appendToStream(
    ARCHIVES_STREAM,
    events.map((event) => {
      const eventId = randomUUID();
      return {
        eventId,
        type: event.type,
        data: { ...event.data },
        metadata: { actor: context.principal.id, correlationId: eventId, recordedAt: now, schemaVersion: 1 },
      };
    }),
    { expectedRevision: revision < 0 ? 'no_stream' : revision },
  );
}

async function withClient<T>(databaseUrl: string, run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'audit-ledger-archive' });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

/** Every checkpoint in the database, in chain order. */
async function readCheckpoints(client: pg.ClientBase): Promise<PositionedCheckpoint[]> {
  const { rows } = await client.query<{ p: string; data: unknown }>(
    `SELECT global_position::text AS p, data FROM ledger.events WHERE stream_id = $1 AND type = $2 ORDER BY stream_revision`,
    [CHECKPOINTS_STREAM, CHECKPOINT_SEALED],
  );
  return rows.flatMap((row) => {
    const checkpoint = parseSealedCheckpoint(row.data);
    return checkpoint ? [{ ...checkpoint, globalPosition: row.p }] : [];
  });
}

export interface ArchiveResult {
  archive: ArchiveSealedData | null;
  /** Why nothing (more) was archived. */
  stoppedAt: string;
}

/**
 * `ledger archive --before DATE`: writes the closed partitions whose every event was recorded before `before`, from
 * the first one not yet archived, as archive files (range evidence bundles) in `outDir`, verifies the files as one
 * chain with the trusted keys, and appends `ArchiveSealed` (range, Merkle root, files and their SHA-256, principal).
 * Only whole partitions whose every checkpoint is sealed are taken.
 */
export async function archiveBefore(
  context: ArchiveContext & { before: Date; outDir: string; publicKeys: BundlePublicKey[]; keys: PublicKeyRing },
): Promise<ArchiveResult> {
  const now = (context.now ?? (() => new Date()))();
  const { state, revision } = await readArchives(context.store);
  return withClient(context.databaseUrl, async (client) => {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    try {
      const checkpoints = await readCheckpoints(client);
      const sealedEnds = new Set(checkpoints.map((checkpoint) => BigInt(checkpoint.toPosition)));
      const chosen: EventPartition[] = [];
      let stoppedAt = 'no closed partition after the archived ones';
      let next = state.archivedThrough + 1n;
      for (const partition of await listPartitions(client)) {
        if (partition.detachedAt !== null || partition.endPosition === null) {
          if (partition.endPosition === null) stoppedAt = `partition ${partition.name} is open (roll it to close it)`;
          if (partition.endPosition === null) break;
          continue;
        }
        const end = partition.endPosition - 1n;
        if (end < next) continue; // archived already
        if (partition.firstPosition > next) {
          stoppedAt = `positions ${next}..${partition.firstPosition - 1n} are in no partition`;
          break;
        }
        const newest = await newestRecordedAt(client, partition);
        if (newest !== null && newest >= context.before) {
          stoppedAt = `partition ${partition.name} holds events recorded at or after ${context.before.toISOString()} (newest ${newest.toISOString()})`;
          break;
        }
        if (!sealedEnds.has(end)) {
          stoppedAt = `partition ${partition.name} (to position ${end}) is not sealed to its end by a checkpoint yet`;
          break;
        }
        chosen.push(partition);
        next = end + 1n;
      }
      if (chosen.length === 0) return { archive: null, stoppedAt };
      const fromPosition = state.archivedThrough + 1n;
      const toPosition = next - 1n;
      const archiveId = `${fromPosition}-${toPosition}`;
      const dir = join(context.outDir, `archive-${archiveId}`);
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const files: ArchiveFile[] = [];
      let eventCount = 0;
      // Each file is read back from disk and checked (in a worker thread) while the next one is written, and the
      // next file's rows are read from PostgreSQL (same connection, same snapshot) while this one is written.
      const checks = new ArchiveFileChecks(context.keys);
      const ranges: [bigint, bigint][] = [];
      for (let from = fromPosition; from <= toPosition; from += MAX_ARCHIVE_FILE_POSITIONS) {
        const to = from + MAX_ARCHIVE_FILE_POSITIONS - 1n;
        ranges.push([from, to < toPosition ? to : toPosition]);
      }
      const read = ([from, to]: [bigint, bigint], checkHashes = false) => {
        const range = readArchiveRange({
          client,
          fromPosition: from,
          toPosition: to,
          checkpoints: checkpoints.filter((c) => BigInt(c.fromPosition) <= to && from <= BigInt(c.toPosition)),
          checkHashes,
        });
        range.catch(() => undefined); // awaited (and thrown) in turn; a write failing first is what is reported
        return range;
      };
      let reading: Promise<ArchiveRange> | undefined;
      try {
        reading = read(ranges[0]!);
        for (let r = 0; r < ranges.length; r++) {
          const range = await reading!;
          reading = r + 1 < ranges.length ? read(ranges[r + 1]!) : undefined;
          const name = `events-${range.fromPosition}-${range.toPosition}.json`;
          const written = await writeArchiveRange(range, {
            publicKeys: context.publicKeys,
            path: join(dir, name),
            now,
          });
          eventCount += written.eventCount;
          files.push({
            name,
            fromPosition: String(range.fromPosition),
            toPosition: String(range.toPosition),
            sha256: written.sha256,
            eventCount: written.eventCount,
          });
          checks.start(join(dir, name));
        }
        // A file whose check failed is written again with each event's hash recomputed from the rows (the payloads
        // of events stored before event-store migration 2 canonicalised; an event matching its hash in no form
        // refused, named), then checked again.
        for (let f = 0; f < files.length; f++) {
          const path = join(dir, files[f]!.name);
          if (await checks.result(path)) continue;
          const range = await read(ranges[f]!, true);
          await rm(path, { force: true });
          const written = await writeArchiveRange(range, { publicKeys: context.publicKeys, path, now });
          files[f] = { ...files[f]!, sha256: written.sha256 };
          checks.restart(path);
        }
      } catch (error) {
        await reading?.catch(() => undefined); // the connection is free again (for the ROLLBACK) once it is read
        await checks.close();
        throw error;
      }
      const lastCheckpoint = checkpoints.find((c) => BigInt(c.toPosition) === toPosition)!;
      // Read back what was written and verify it as one chain before anything is recorded.
      const check = await verifyArchiveChain(
        files.map((file) => join(dir, file.name)),
        context.keys,
        checks,
      ).finally(() => checks.close());
      if (!check.ok) {
        const first = check.problems[0]!;
        throw new ArchiveRefusedError(
          `the archive written to ${dir} does not verify: ${first.file} at position ${first.position}: ${first.kind}: ${first.message}`,
        );
      }
      // What was read back from disk is, byte for byte, what was written (the SHA-256 computed while writing).
      const written = new Map(files.map((file) => [file.name, file.sha256]));
      const changed = check.files.find((file) => written.get(file.file) !== file.sha256);
      if (changed || check.files.length !== files.length) {
        throw new ArchiveRefusedError(
          `the archive written to ${dir} does not read back as written: ${changed ? `${changed.file} has SHA-256 ${changed.sha256}, ${written.get(changed.file)} was written` : 'files are missing'}`,
        );
      }
      const sealed: ArchiveSealedData = {
        archiveId,
        fromPosition: String(fromPosition),
        toPosition: String(toPosition),
        partitions: chosen.map((partition) => partition.name),
        // Of the events as read back from the files and verified (the same hashes the ledger sealed).
        merkleRoot: check.merkleRoot ?? EMPTY_TREE_ROOT.toString('hex'),
        eventCount,
        files,
        lastCheckpointHash: lastCheckpoint.checkpointHash,
        sealedBy: context.principal.id,
        sealedAt: now.toISOString(),
      };
      await appendArchiveEvents(context, decideArchive({ type: 'SealArchive', data: sealed }, state), revision);
      return { archive: sealed, stoppedAt };
    } finally {
      await client.query('ROLLBACK').catch(() => undefined);
    }
  });
}

/** `ledger archive approve ID`: one admin's approval of dropping the archive, recorded as `ArchiveDropApproved`. */
export async function approveArchiveDrop(
  context: ArchiveContext & { archiveId: string; reason?: string },
): Promise<void> {
  await handleDeciderCommand(context.store, {
    streamId: ARCHIVES_STREAM,
    fold: foldArchives,
    decide: (state) =>
      decideArchive(
        {
          type: 'ApproveDrop',
          data: { archiveId: context.archiveId, ...(context.reason !== undefined ? { reason: context.reason } : {}) },
          by: { id: context.principal.id, roles: context.principal.roles },
          now: (context.now ?? (() => new Date()))().toISOString(),
        },
        state,
      ),
    whenNothingDecided: () => undefined,
    append: (events, revision) => appendArchiveEvents(context, events, typeof revision === 'number' ? revision : -1),
  });
}

/**
 * `ledger archive drop ID`: refused unless the archive was sealed and two distinct admins approved (the decider);
 * re-verifies the archive files in `archiveDir` against what `ArchiveSealed` recorded, detaches the partitions
 * (released in the registry first, which the database's guard requires), and appends the signed tombstone.
 */
export async function dropArchive(
  context: ArchiveContext & { archiveId: string; archiveDir: string; keys: PublicKeyRing; signing: SigningKey },
): Promise<ArchiveDroppedData> {
  const { state, revision } = await readArchives(context.store);
  const approvedBy = dropApprovers(state, context.archiveId, {
    id: context.principal.id,
    roles: context.principal.roles,
  });
  const sealed = state.archives.get(context.archiveId)!.sealed;
  const check = await verifyArchiveChain(
    sealed.files.map((file) => join(context.archiveDir, file.name)),
    context.keys,
  );
  const recorded = new Map(sealed.files.map((file) => [file.name, file.sha256]));
  const changed = check.files.find((file) => recorded.get(file.file) !== file.sha256);
  if (!check.ok || changed || check.merkleRoot !== sealed.merkleRoot) {
    const first = check.problems[0];
    throw new ArchiveRefusedError(
      `archive ${context.archiveId} in ${context.archiveDir} does not verify, nothing dropped: ` +
        (first
          ? `${first.file} at position ${first.position}: ${first.kind}: ${first.message}`
          : changed
            ? `${changed.file} has SHA-256 ${changed.sha256}, ArchiveSealed recorded ${recorded.get(changed.file)}`
            : `its Merkle root ${check.merkleRoot} is not the recorded ${sealed.merkleRoot}`),
    );
  }
  await withClient(context.databaseUrl, async (client) => {
    // The key table is the `principals` stream read whole: dropping some of it would lose API keys in use.
    const { rowCount } = await client.query(
      `SELECT 1 FROM ledger.events WHERE stream_id = 'principals' AND global_position BETWEEN $1 AND $2 LIMIT 1`,
      [sealed.fromPosition, sealed.toPosition],
    );
    if (rowCount) {
      throw new ArchiveRefusedError(
        `archive ${context.archiveId} holds events of stream principals (the API keys): dropping it would lose keys, nothing dropped`,
      );
    }
    const attached = new Set(
      (await listPartitions(client)).filter((p) => p.detachedAt === null).map((partition) => partition.name),
    );
    await releaseAndDetach(
      client,
      sealed.partitions.filter((name) => attached.has(name)),
      context.principal.id,
    );
  });
  const now = (context.now ?? (() => new Date()))().toISOString();
  const tombstone = signTombstone(
    {
      archiveId: sealed.archiveId,
      fromPosition: sealed.fromPosition,
      toPosition: sealed.toPosition,
      partitions: sealed.partitions,
      merkleRoot: sealed.merkleRoot,
      files: sealed.files,
      lastCheckpointHash: sealed.lastCheckpointHash,
      approvedBy,
      droppedBy: context.principal.id,
      droppedAt: now,
    },
    context.signing,
  );
  await appendArchiveEvents(context, [{ type: 'ArchiveDropped', data: tombstone }], revision);
  return tombstone;
}
