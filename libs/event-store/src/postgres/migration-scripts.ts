import {
  APPEND_ONLY_VIOLATION,
  DDL_REFUSED,
  EVENTS_CHANNEL,
  GUARD_SCHEMA,
  OWNER_ROLE,
  EVENTS_TABLE,
  LEDGER_SCHEMA,
  MIGRATIONS_TABLE,
  WRITER_ROLE,
} from './ledger-schema.js';
import { PARTITION_EVENTS_BY_TIME } from './partition-migration.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/**
 * Creates the NOLOGIN role `role` unless it exists. A role is cluster-wide while everything else lives in one
 * database: several databases (parallel test files, several ledgers on one server) may create it at the same moment,
 * so losing that race is not an error. Part of released migrations: its text must not change.
 */
const createNoLoginRole = (role: string) => `
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${role}') THEN
    CREATE ROLE ${role} NOLOGIN;
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL;
END
$$;
`;

const createWriterRole = `${createNoLoginRole(WRITER_ROLE)}
-- A non-superuser owner must be a member to SET ROLE ${WRITER_ROLE} on its service connections.
DO $$
BEGIN
  IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
     AND NOT pg_has_role(current_user, '${WRITER_ROLE}', 'MEMBER') THEN
    EXECUTE format('GRANT ${WRITER_ROLE} TO %I', current_user);
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL;
END
$$;
`;

const createEventsTable = `
CREATE TABLE ${EVENTS_TABLE} (
  global_position bigint GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME ${LEDGER_SCHEMA}.events_global_position_seq)
    PRIMARY KEY,
  event_id uuid NOT NULL,
  stream_id text NOT NULL CHECK (stream_id <> ''),
  stream_revision bigint NOT NULL CHECK (stream_revision >= 0),
  type text NOT NULL CHECK (type <> ''),
  data jsonb NOT NULL,
  metadata jsonb NOT NULL,
  prev_hash text NOT NULL,
  hash text NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT events_event_id_key UNIQUE (event_id),
  CONSTRAINT events_stream_revision_key UNIQUE (stream_id, stream_revision)
);

CREATE FUNCTION ${LEDGER_SCHEMA}.reject_event_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '${EVENTS_TABLE} is append-only: % is not allowed (audit ledger invariant 1)', TG_OP
    USING ERRCODE = '${APPEND_ONLY_VIOLATION}';
END
$$;

-- Statement level, so that a statement matching no row is refused too; ENABLE ALWAYS, so that
-- session_replication_role = replica does not switch the guard off.
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON ${EVENTS_TABLE}
  FOR EACH STATEMENT EXECUTE FUNCTION ${LEDGER_SCHEMA}.reject_event_change();
ALTER TABLE ${EVENTS_TABLE} ENABLE ALWAYS TRIGGER events_append_only;

-- Wakes subscribers once per inserting statement, delivered at commit (never for a rolled-back insert).
CREATE FUNCTION ${LEDGER_SCHEMA}.notify_events_appended() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  last_position bigint;
BEGIN
  SELECT max(global_position) INTO last_position FROM appended;
  IF last_position IS NOT NULL THEN
    PERFORM pg_notify('${EVENTS_CHANNEL}', last_position::text);
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER events_notify AFTER INSERT ON ${EVENTS_TABLE} REFERENCING NEW TABLE AS appended
  FOR EACH STATEMENT EXECUTE FUNCTION ${LEDGER_SCHEMA}.notify_events_appended();

REVOKE ALL ON ${EVENTS_TABLE} FROM PUBLIC;
GRANT USAGE ON SCHEMA ${LEDGER_SCHEMA} TO ${WRITER_ROLE};
GRANT SELECT, INSERT ON ${EVENTS_TABLE} TO ${WRITER_ROLE};
GRANT USAGE ON SEQUENCE ${LEDGER_SCHEMA}.events_global_position_seq TO ${WRITER_ROLE};
GRANT SELECT ON ${MIGRATIONS_TABLE} TO ${WRITER_ROLE};
`;

/**
 * Payloads as their RFC 8785 text (json keeps it byte for byte; jsonb re-renders it): the bytes stored are the bytes
 * hashed, so the verifier hashes them as they come instead of re-canonicalising PostgreSQL's jsonb rendering, and the
 * server sends text instead of rendering jsonb (docs/integrity.md §6). Events written before keep jsonb's rendering
 * (the verifier canonicalises those). jsonb refused a NUL (\\u0000) and json does not: the check keeps refusing it
 * with jsonb's error, since read models (text columns) cannot hold it.
 */
const payloadsAsCanonicalText = `
ALTER TABLE ${EVENTS_TABLE}
  ALTER COLUMN data TYPE json USING data::json,
  ALTER COLUMN metadata TYPE json USING metadata::json,
  ADD CONSTRAINT events_payload_without_nul CHECK (
    (strpos(data::text, chr(92) || 'u0000') = 0 OR data::jsonb IS NOT NULL)
    AND (strpos(metadata::text, chr(92) || 'u0000') = 0 OR metadata::jsonb IS NOT NULL)
  );
`;

/**
 * The sequence hands out positions from 1; a row below 1 can only come from `OVERRIDING SYSTEM VALUE` (issue 10,
 * finding 4). NOT VALID: the constraint holds for every row written from now on without failing on a database that
 * already holds such rows; `ledger verify` reports those (finding `invalid_position`).
 */
const positionsFromOne = `
ALTER TABLE ${EVENTS_TABLE}
  ADD CONSTRAINT events_global_position_from_1 CHECK (global_position >= 1) NOT VALID;
`;

/**
 * Hands everything in schema `ledger` not yet owned by `ledger_owner` to it (nothing to do: no DDL at all). Part of
 * migration 4, and run by the migration runner after every later migration, so that what a later migration creates
 * belongs to `ledger_owner` too without each one having to say so.
 */
export const HAND_OVER_TO_OWNER = `
DO $$
DECLARE
  object record;
  owner oid := '${OWNER_ROLE}'::regrole;
BEGIN
  IF (SELECT nspowner FROM pg_namespace WHERE nspname = '${LEDGER_SCHEMA}') <> owner THEN
    EXECUTE 'ALTER SCHEMA ${LEDGER_SCHEMA} OWNER TO ${OWNER_ROLE}';
  END IF;
  -- Tables and views (their indexes and identity sequences follow), then sequences of their own, then routines.
  FOR object IN
    SELECT c.oid::regclass AS name FROM pg_class c
     WHERE c.relnamespace = '${LEDGER_SCHEMA}'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
       AND c.relowner <> owner
  LOOP
    EXECUTE format('ALTER TABLE %s OWNER TO ${OWNER_ROLE}', object.name);
  END LOOP;
  FOR object IN
    SELECT c.oid::regclass AS name FROM pg_class c
     WHERE c.relnamespace = '${LEDGER_SCHEMA}'::regnamespace AND c.relkind = 'S' AND c.relowner <> owner
       AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i'))
  LOOP
    EXECUTE format('ALTER SEQUENCE %s OWNER TO ${OWNER_ROLE}', object.name);
  END LOOP;
  FOR object IN
    SELECT p.oid::regprocedure AS name FROM pg_proc p
     WHERE p.pronamespace = '${LEDGER_SCHEMA}'::regnamespace AND p.proowner <> owner
  LOOP
    EXECUTE format('ALTER ROUTINE %s OWNER TO ${OWNER_ROLE}', object.name);
  END LOOP;
END
$$;
`;

/**
 * Issue 10, finding 5: ownership the ledger's login cannot undo. Everything in schema `ledger` goes to the NOLOGIN
 * role `ledger_owner`; whoever runs the migrations (a superuser, or a login with CREATEROLE that becomes a member of
 * `ledger_owner` to hand objects over) keeps that power, the runtime login (a member of `ledger_writer` only) has
 * none. Where the migrations run as a superuser, an event trigger (owned by that superuser, in a schema of its own)
 * also refuses ALTER, DROP, GRANT and the like on the ledger's objects by anyone but a superuser: a member of
 * `ledger_owner` cannot switch the append-only trigger off either. A superuser can do anything (docs/operations.md).
 */
const ownedByLedgerOwner = `${createNoLoginRole(OWNER_ROLE)}
-- A non-superuser migrator hands objects over only as a member of the new owner that may SET ROLE to it (from
-- PostgreSQL 16 the creator of a role holds it WITH ADMIN only, which is not enough).
DO $$
BEGIN
  IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    RETURN;
  END IF;
  IF current_setting('server_version_num')::int >= 160000 THEN
    IF NOT pg_has_role(current_user, '${OWNER_ROLE}', 'SET') THEN
      EXECUTE format('GRANT ${OWNER_ROLE} TO %I WITH INHERIT TRUE, SET TRUE', current_user);
    END IF;
  ELSIF NOT pg_has_role(current_user, '${OWNER_ROLE}', 'MEMBER') THEN
    EXECUTE format('GRANT ${OWNER_ROLE} TO %I', current_user);
  END IF;
  -- The new owner of a schema needs CREATE on the database (a superuser migrator needs none of this).
  EXECUTE format('GRANT CREATE ON DATABASE %I TO ${OWNER_ROLE}', current_database());
END
$$;

${HAND_OVER_TO_OWNER}
-- Objects created by later migrations are handed over the same way; the runtime role keeps SELECT and INSERT only.
REVOKE ALL ON SCHEMA ${LEDGER_SCHEMA} FROM PUBLIC;
GRANT USAGE ON SCHEMA ${LEDGER_SCHEMA} TO ${WRITER_ROLE};

DO $guard$
BEGIN
  IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    RAISE NOTICE 'audit ledger: the migrations do not run as a superuser: no event trigger guards the ledger''s tables';
    RETURN;
  END IF;
  CREATE SCHEMA IF NOT EXISTS ${GUARD_SCHEMA};
  REVOKE ALL ON SCHEMA ${GUARD_SCHEMA} FROM PUBLIC;
  CREATE OR REPLACE FUNCTION ${GUARD_SCHEMA}.refuse_ledger_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $fn$
  DECLARE
    object record;
  BEGIN
    IF (SELECT rolsuper FROM pg_roles WHERE oid = current_user::regrole) THEN
      RETURN;
    END IF;
    IF TG_EVENT = 'sql_drop' THEN
      FOR object IN SELECT * FROM pg_event_trigger_dropped_objects() LOOP
        IF object.schema_name IN ('${LEDGER_SCHEMA}', '${GUARD_SCHEMA}')
           OR (object.object_type = 'schema' AND object.object_name IN ('${LEDGER_SCHEMA}', '${GUARD_SCHEMA}')) THEN
          RAISE EXCEPTION 'audit ledger: % of % is refused: only a superuser may change the ledger''s objects', TG_TAG,
            object.object_identity USING ERRCODE = '${DDL_REFUSED}';
        END IF;
      END LOOP;
    ELSE
      FOR object IN SELECT * FROM pg_event_trigger_ddl_commands() LOOP
        IF object.schema_name IN ('${LEDGER_SCHEMA}', '${GUARD_SCHEMA}')
           OR (object.object_type = 'schema' AND object.object_identity IN ('${LEDGER_SCHEMA}', '${GUARD_SCHEMA}')) THEN
          RAISE EXCEPTION 'audit ledger: % of % is refused: only a superuser may change the ledger''s objects', TG_TAG,
            object.object_identity USING ERRCODE = '${DDL_REFUSED}';
        END IF;
      END LOOP;
    END IF;
  END
  $fn$;
  DROP EVENT TRIGGER IF EXISTS ledger_refuse_ddl;
  DROP EVENT TRIGGER IF EXISTS ledger_refuse_drop;
  CREATE EVENT TRIGGER ledger_refuse_ddl ON ddl_command_end EXECUTE FUNCTION ${GUARD_SCHEMA}.refuse_ledger_ddl();
  CREATE EVENT TRIGGER ledger_refuse_drop ON sql_drop EXECUTE FUNCTION ${GUARD_SCHEMA}.refuse_ledger_ddl();
END
$guard$;
`;

/** Append only: a released migration is never edited, a change is a new version. */
export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'events table, append-only triggers, writer role', sql: createWriterRole + createEventsTable },
  { version: 2, name: 'event payloads stored as their canonical JSON text', sql: payloadsAsCanonicalText },
  { version: 3, name: 'global positions start at 1', sql: positionsFromOne },
  {
    version: 4,
    name: 'ledger objects owned by ledger_owner, DDL guarded by an event trigger',
    sql: ownedByLedgerOwner,
  },
  {
    version: 5,
    name: 'events partitioned by global position, one partition per period',
    sql: PARTITION_EVENTS_BY_TIME,
  },
];
