import {
  APPEND_ONLY_VIOLATION,
  EVENTS_CHANNEL,
  EVENTS_TABLE,
  LEDGER_SCHEMA,
  MIGRATIONS_TABLE,
  WRITER_ROLE,
} from './ledger-schema.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/**
 * The role is cluster-wide while everything else lives in one database: several databases (parallel test files,
 * several ledgers on one server) may create it at the same moment, so losing that race is not an error.
 */
const createWriterRole = `
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${WRITER_ROLE}') THEN
    CREATE ROLE ${WRITER_ROLE} NOLOGIN;
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL;
END
$$;

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

/** Append only: a released migration is never edited, a change is a new version. */
export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'events table, append-only triggers, writer role', sql: createWriterRole + createEventsTable },
  { version: 2, name: 'event payloads stored as their canonical JSON text', sql: payloadsAsCanonicalText },
  { version: 3, name: 'global positions start at 1', sql: positionsFromOne },
];
