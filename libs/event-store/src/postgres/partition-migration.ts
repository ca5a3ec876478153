import {
  EVENTS_TABLE,
  LEDGER_SCHEMA,
  OWNER_ROLE,
  PARTITION_REFUSED,
  PARTITIONS_TABLE,
  WRITER_ROLE,
} from './ledger-schema.js';

/**
 * Issue 13, item 3: `ledger.events` partitioned by RANGE (global_position), one partition per period of time.
 *
 * A partition's position range is fixed when it is closed: `ledger.roll_event_partition()` bounds the open partition
 * at the next position the sequence will hand out and opens a new one from there (docs/operations.md,
 * "Archive and drop"), so every event of a closed partition was recorded before it closed. Positions keep their meaning and
 * the primary key stays (global_position). Uniqueness of (stream_id, stream_revision) and event_id is enforced per
 * partition by constraints and across partitions by the append path (stream lock, head and stored-id reads).
 *
 * An existing table becomes the first partition, FROM (MINVALUE): its rows are not copied. Every partition carries
 * the append-only trigger (a statement on a partition does not fire the parent's). A superuser-owned event trigger
 * refuses detaching or dropping a partition that `ledger.event_partitions` does not mark released (the two-person
 * drop procedure marks it), even by a superuser, unless the roll function is running.
 */
const PARTITION_GUARD = `
CREATE TABLE ${PARTITIONS_TABLE} (
  name text PRIMARY KEY,
  first_position bigint NOT NULL UNIQUE,
  -- The bound as written in FOR VALUES FROM (…): MINVALUE for the first partition.
  bound_from text NOT NULL,
  -- Exclusive; NULL while the partition is open.
  end_position bigint,
  opened_at timestamptz NOT NULL DEFAULT now(),
  closed_at timestamptz,
  -- Set by the drop procedure (after the archive was sealed and two admins approved) just before it detaches.
  released_at timestamptz,
  released_by text,
  detached_at timestamptz,
  CHECK (end_position IS NULL OR end_position >= first_position)
);
REVOKE ALL ON ${PARTITIONS_TABLE} FROM PUBLIC;
GRANT SELECT ON ${PARTITIONS_TABLE} TO ${WRITER_ROLE};

-- Creates partition \`name\` of the events table with its own unique constraints and append-only trigger.
CREATE FUNCTION ${LEDGER_SCHEMA}.create_event_partition(name text, bound_from text, first_position bigint)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('CREATE TABLE ${LEDGER_SCHEMA}.%I PARTITION OF ${EVENTS_TABLE} FOR VALUES FROM (%s) TO (MAXVALUE)',
                 name, bound_from);
  EXECUTE format('ALTER TABLE ${LEDGER_SCHEMA}.%I ADD CONSTRAINT %I UNIQUE (event_id), ADD CONSTRAINT %I UNIQUE (stream_id, stream_revision)',
                 name, name || '_event_id_key', name || '_stream_revision_key');
  EXECUTE format('CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON ${LEDGER_SCHEMA}.%I
                    FOR EACH STATEMENT EXECUTE FUNCTION ${LEDGER_SCHEMA}.reject_event_change()', name);
  EXECUTE format('ALTER TABLE ${LEDGER_SCHEMA}.%I ENABLE ALWAYS TRIGGER events_append_only', name);
  EXECUTE format('REVOKE ALL ON ${LEDGER_SCHEMA}.%I FROM PUBLIC', name);
  -- Like everything in the schema (migration 4): a partition opened by a later roll is handed over here.
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = '${OWNER_ROLE}') THEN
    EXECUTE format('ALTER TABLE ${LEDGER_SCHEMA}.%I OWNER TO ${OWNER_ROLE}', name);
  END IF;
  INSERT INTO ${PARTITIONS_TABLE} (name, first_position, bound_from) VALUES (name, first_position, bound_from);
END
$$;

-- Closes the open partition at the next position the sequence hands out and opens the next one from there; returns
-- the closed partition's name (NULL when the open partition is empty: nothing to close). Takes an ACCESS EXCLUSIVE
-- lock on the events table for the time it needs to check the closed partition's rows against its new bound (one
-- scan of that partition): appends wait meanwhile. Run by the migrator role or a superuser (DDL), never the writer.
CREATE FUNCTION ${LEDGER_SCHEMA}.roll_event_partition() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  open record;
  next_position bigint;
  next_name text;
BEGIN
  LOCK TABLE ${EVENTS_TABLE} IN ACCESS EXCLUSIVE MODE;
  SELECT * INTO STRICT open FROM ${PARTITIONS_TABLE} WHERE end_position IS NULL;
  SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END INTO next_position
    FROM ${LEDGER_SCHEMA}.events_global_position_seq;
  IF next_position <= open.first_position THEN
    RETURN NULL;
  END IF;
  PERFORM set_config('ledger.partition_roll', 'on', true);
  EXECUTE format('ALTER TABLE ${EVENTS_TABLE} DETACH PARTITION ${LEDGER_SCHEMA}.%I', open.name);
  EXECUTE format('ALTER TABLE ${LEDGER_SCHEMA}.%I ADD CONSTRAINT %I CHECK (global_position < %s)',
                 open.name, open.name || '_bound', next_position);
  EXECUTE format('ALTER TABLE ${EVENTS_TABLE} ATTACH PARTITION ${LEDGER_SCHEMA}.%I FOR VALUES FROM (%s) TO (%s)',
                 open.name, open.bound_from, next_position);
  UPDATE ${PARTITIONS_TABLE} SET end_position = next_position, closed_at = now() WHERE name = open.name;
  next_name := format('events_p%s', lpad((SELECT count(*) + 1 FROM ${PARTITIONS_TABLE})::text, 6, '0'));
  PERFORM ${LEDGER_SCHEMA}.create_event_partition(next_name, next_position::text, next_position);
  PERFORM set_config('ledger.partition_roll', 'off', true);
  RETURN open.name;
END
$$;
`;

/** Turns the existing (unpartitioned) events table into the first partition of a partitioned one. */
const CONVERT_TABLE = `
DO $convert$
DECLARE
  next_position bigint;
BEGIN
  SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END INTO next_position
    FROM ${LEDGER_SCHEMA}.events_global_position_seq;
  ALTER TABLE ${EVENTS_TABLE} RENAME TO events_p000001;
  ALTER TABLE ${LEDGER_SCHEMA}.events_p000001 RENAME CONSTRAINT events_pkey TO events_p000001_pkey;
  ALTER TABLE ${LEDGER_SCHEMA}.events_p000001 RENAME CONSTRAINT events_event_id_key TO events_p000001_event_id_key;
  ALTER TABLE ${LEDGER_SCHEMA}.events_p000001
    RENAME CONSTRAINT events_stream_revision_key TO events_p000001_stream_revision_key;
  -- A partition cannot carry a trigger with a transition table, nor an identity of its own: both move to the parent.
  DROP TRIGGER events_notify ON ${LEDGER_SCHEMA}.events_p000001;
  ALTER TABLE ${LEDGER_SCHEMA}.events_p000001 ALTER COLUMN global_position DROP IDENTITY;
  EXECUTE format('ALTER TABLE ${LEDGER_SCHEMA}.events_p000001 ADD CONSTRAINT events_p000001_bound CHECK (global_position < %s)',
                 next_position);

  CREATE TABLE ${EVENTS_TABLE} (
    global_position bigint GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME ${LEDGER_SCHEMA}.events_global_position_seq),
    event_id uuid NOT NULL,
    stream_id text NOT NULL CONSTRAINT events_stream_id_check CHECK (stream_id <> ''),
    stream_revision bigint NOT NULL CONSTRAINT events_stream_revision_check CHECK (stream_revision >= 0),
    type text NOT NULL CONSTRAINT events_type_check CHECK (type <> ''),
    data json NOT NULL,
    metadata json NOT NULL,
    prev_hash text NOT NULL,
    hash text NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT events_pkey PRIMARY KEY (global_position),
    CONSTRAINT events_payload_without_nul CHECK (
      (strpos(data::text, chr(92) || 'u0000') = 0 OR data::jsonb IS NOT NULL)
      AND (strpos(metadata::text, chr(92) || 'u0000') = 0 OR metadata::jsonb IS NOT NULL)
    )
  ) PARTITION BY RANGE (global_position);
  PERFORM setval('${LEDGER_SCHEMA}.events_global_position_seq', next_position, false);

  EXECUTE format('ALTER TABLE ${EVENTS_TABLE} ATTACH PARTITION ${LEDGER_SCHEMA}.events_p000001
                    FOR VALUES FROM (MINVALUE) TO (%s)', next_position);
  INSERT INTO ${PARTITIONS_TABLE} (name, first_position, bound_from, end_position, closed_at)
    -- An empty table leaves an empty first partition, [MINVALUE, 1): its first position is then 0.
    VALUES ('events_p000001', least(1, next_position - 1), 'MINVALUE', next_position, now());
  PERFORM ${LEDGER_SCHEMA}.create_event_partition('events_p000002', next_position::text, next_position);
END
$convert$;

CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON ${EVENTS_TABLE}
  FOR EACH STATEMENT EXECUTE FUNCTION ${LEDGER_SCHEMA}.reject_event_change();
ALTER TABLE ${EVENTS_TABLE} ENABLE ALWAYS TRIGGER events_append_only;
CREATE TRIGGER events_notify AFTER INSERT ON ${EVENTS_TABLE} REFERENCING NEW TABLE AS appended
  FOR EACH STATEMENT EXECUTE FUNCTION ${LEDGER_SCHEMA}.notify_events_appended();

REVOKE ALL ON ${EVENTS_TABLE} FROM PUBLIC;
GRANT SELECT, INSERT ON ${EVENTS_TABLE} TO ${WRITER_ROLE};
GRANT USAGE ON SEQUENCE ${LEDGER_SCHEMA}.events_global_position_seq TO ${WRITER_ROLE};
`;

/**
 * Refuses, even to a superuser, detaching or dropping a partition of the events table that the drop procedure has not
 * released (the roll function's own detach and re-attach excepted). Created only when a superuser migrates (event
 * triggers need one); a superuser can still drop this trigger: what the hashes then detect is in docs/integrity.md.
 */
const DETACH_GUARD = `
DO $guard$
BEGIN
  IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    RAISE NOTICE 'audit ledger: the migrations do not run as a superuser: no event trigger guards the event partitions';
    RETURN;
  END IF;
  CREATE SCHEMA IF NOT EXISTS ledger_guard;
  CREATE OR REPLACE FUNCTION ledger_guard.refuse_partition_detach() RETURNS event_trigger LANGUAGE plpgsql AS $fn$
  DECLARE
    part record;
  BEGIN
    IF coalesce(current_setting('ledger.partition_roll', true), '') = 'on'
       OR to_regclass('${PARTITIONS_TABLE}') IS NULL OR to_regclass('${EVENTS_TABLE}') IS NULL THEN
      RETURN;
    END IF;
    FOR part IN SELECT name FROM ${PARTITIONS_TABLE} WHERE released_at IS NULL LOOP
      IF to_regclass('${LEDGER_SCHEMA}.' || quote_ident(part.name)) IS NULL OR NOT EXISTS (
           SELECT FROM pg_inherits WHERE inhparent = '${EVENTS_TABLE}'::regclass
              AND inhrelid = to_regclass('${LEDGER_SCHEMA}.' || quote_ident(part.name))) THEN
        RAISE EXCEPTION 'audit ledger: % of event partition % is refused: only ledger archive drop, after a sealed archive and two approvals, may detach it',
          TG_TAG, part.name USING ERRCODE = '${PARTITION_REFUSED}';
      END IF;
    END LOOP;
  END
  $fn$;
  DROP EVENT TRIGGER IF EXISTS ledger_refuse_partition_detach;
  CREATE EVENT TRIGGER ledger_refuse_partition_detach ON ddl_command_end
    WHEN TAG IN ('ALTER TABLE', 'DROP TABLE') EXECUTE FUNCTION ledger_guard.refuse_partition_detach();
  ALTER EVENT TRIGGER ledger_refuse_partition_detach ENABLE ALWAYS;
END
$guard$;
`;

export const PARTITION_EVENTS_BY_TIME = PARTITION_GUARD + CONVERT_TABLE + DETACH_GUARD;
