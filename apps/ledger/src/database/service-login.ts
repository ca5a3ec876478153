import { WRITER_ROLE } from '@audit-ledger/event-store';
import pg from 'pg';

/** The embedded database's runtime login: a member of ledger_writer only, never of ledger_owner (docs/operations.md). */
export const SERVICE_LOGIN = 'ledger_service';

/**
 * Creates (or brings back in line) the runtime login of the embedded database, on the superuser's connection to the
 * ledger's database, after the migrations: LOGIN with `password`, no special attributes, a member of ledger_writer
 * and of nothing else, CREATE on the database for the read models it owns. Read-model and processor schemas the
 * superuser created before this release (the service ran as the superuser then) are handed to it.
 */
export function provisionServiceLogin(adminUrl: string, password: string): Promise<string[]> {
  return inProvisioningTransaction(adminUrl, async (client) => {
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('audit-ledger.service-login'))`);
    const exists = (await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [SERVICE_LOGIN])).rowCount;
    const attributes = `LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT PASSWORD ${client.escapeLiteral(password)}`;
    await client.query(`${exists ? 'ALTER' : 'CREATE'} ROLE ${SERVICE_LOGIN} ${attributes}`);
    // Whatever it was granted, it keeps ledger_writer only.
    const { rows: memberships } = await client.query<{ role: string }>(
      `SELECT r.rolname AS role FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid
        WHERE m.member = (SELECT oid FROM pg_roles WHERE rolname = $1) AND r.rolname <> $2`,
      [SERVICE_LOGIN, WRITER_ROLE],
    );
    for (const { role } of memberships) {
      await client.query(`REVOKE ${client.escapeIdentifier(role)} FROM ${SERVICE_LOGIN}`);
    }
    await client.query(`GRANT ${WRITER_ROLE} TO ${SERVICE_LOGIN}`);
    const database = (await client.query<{ db: string }>('SELECT current_database() AS db')).rows[0]!.db;
    await client.query(`GRANT CONNECT, CREATE ON DATABASE ${client.escapeIdentifier(database)} TO ${SERVICE_LOGIN}`);
    return handOverDerivedSchemas(client, SERVICE_LOGIN);
  });
}

/** Schemas the service itself creates (read models, processor state), never `ledger` or the guard's. */
const SERVICE_OWNED_SCHEMAS = `
  SELECT n.nspname FROM pg_namespace n
   WHERE n.nspowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)
     AND n.nspname NOT IN ('ledger', 'ledger_guard', 'public', 'information_schema')
     AND n.nspname NOT LIKE 'pg\\_%'`;

/**
 * With LEDGER_MIGRATION_DATABASE_URL: read-model and processor schemas the admin login created while it was also the
 * runtime login go to the runtime login `login`, in one transaction on the admin connection.
 */
export function handOverDerivedSchemasTo(adminUrl: string, login: string): Promise<string[]> {
  return inProvisioningTransaction(adminUrl, (client) => handOverDerivedSchemas(client, login));
}

/** The login of a connection string, as the server sees it. */
export function loginOf(url: string): Promise<string> {
  return onConnection(
    url,
    'audit-ledger-privileges',
    async (client) => (await client.query<{ login: string }>('SELECT session_user AS login')).rows[0]!.login,
  );
}

/** Hands the service's schemas (and their tables, views, sequences, routines) from the admin login to `login`. */
async function handOverDerivedSchemas(client: pg.Client, login: string): Promise<string[]> {
  const to = client.escapeIdentifier(login);
  const { rows } = await client.query<{ nspname: string }>(SERVICE_OWNED_SCHEMAS);
  for (const { nspname } of rows) {
    await client.query(`DO $$
      DECLARE object record;
      BEGIN
        EXECUTE format('ALTER SCHEMA %I OWNER TO ${to}', ${client.escapeLiteral(nspname)});
        FOR object IN SELECT c.oid::regclass AS name FROM pg_class c
          WHERE c.relnamespace = ${client.escapeLiteral(nspname)}::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
        LOOP
          EXECUTE format('ALTER TABLE %s OWNER TO ${to}', object.name);
        END LOOP;
        FOR object IN SELECT c.oid::regclass AS name FROM pg_class c
          WHERE c.relnamespace = ${client.escapeLiteral(nspname)}::regnamespace AND c.relkind = 'S'
            AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i'))
        LOOP
          EXECUTE format('ALTER SEQUENCE %s OWNER TO ${to}', object.name);
        END LOOP;
        FOR object IN SELECT p.oid::regprocedure AS name FROM pg_proc p
          WHERE p.pronamespace = ${client.escapeLiteral(nspname)}::regnamespace
        LOOP
          EXECUTE format('ALTER ROUTINE %s OWNER TO ${to}', object.name);
        END LOOP;
      END $$`);
  }
  return rows.map((row) => row.nspname);
}

/**
 * Whether `url`'s login can change the ledger's objects (superuser, or a member of ledger_owner): then append-only
 * rests on the triggers and the checkpoints alone. For the start-up warning.
 */
export function loginCanAlterLedger(url: string): Promise<{ login: string; reason: string } | undefined> {
  return onConnection(url, 'audit-ledger-privileges', async (client) => {
    const { rows } = await client.query<{ login: string; superuser: boolean; owner: boolean }>(
      `SELECT session_user AS login, (SELECT rolsuper FROM pg_roles WHERE rolname = session_user) AS superuser,
              EXISTS (SELECT FROM pg_roles WHERE rolname = 'ledger_owner')
                AND pg_has_role(session_user, 'ledger_owner', 'MEMBER') AS owner`,
    );
    const row = rows[0]!;
    if (row.superuser) return { login: row.login, reason: 'it is a superuser' };
    if (row.owner) return { login: row.login, reason: 'it is a member of ledger_owner' };
    return undefined;
  });
}

/** Runs `work` on a connection of its own to `url`, closed afterwards (a server that goes away is no crash). */
async function onConnection<T>(
  url: string,
  applicationName: string,
  work: (client: pg.Client) => Promise<T>,
): Promise<T> {
  const client = new pg.Client({ connectionString: url, application_name: applicationName });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Runs `work` in one transaction on a provisioning connection to `adminUrl`: all of it or nothing. */
function inProvisioningTransaction<T>(adminUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  return onConnection(adminUrl, 'audit-ledger-provisioning', async (client) => {
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  });
}
