import { createHash } from 'node:crypto';
import type pg from 'pg';

/** Part of a message: statements whose results come back in order. */
interface Piece {
  text: string;
  /** Results before the ones `check` gets (a `PREPARE`'s). */
  skip: number;
  /** Results `check` gets. */
  results: number;
  /** Called with the piece's results once they are back (a throw fails the round trip's caller). */
  check?: (results: pg.QueryResult[]) => void;
  /** Statements this piece prepares on the connection. */
  prepares: boolean;
}

/** What one connection has prepared (`PREPARE`), as far as this process knows. */
interface Session {
  names: Set<string>;
  /** A message with a `PREPARE` failed: re-read `pg_prepared_statements` before relying on `names`. */
  stale: boolean;
}

const queues = new WeakMap<object, StatementQueue>();
const sessions = new WeakMap<object, Session>();

/**
 * Round trips of one projection batch's transaction: statements whose results are not read (`sendLater`) wait, and
 * go to the server in one simple-protocol message together with the next statement that is waited for (or with the
 * checkpoint and `COMMIT`), in the order they were made. The server runs them one after another as before, each
 * seeing the ones before it; only their results (unread) and their errors come back later. An error of a queued
 * statement therefore surfaces at a later call: the runner applies a failed batch again without the queue to find
 * the event it belongs to.
 *
 * Each statement is prepared once per connection (`PREPARE rm_<hash of its text>`, sent with its first use) and then
 * run as `EXECUTE rm_…(<values as quoted literals>)`: the server no longer parses, analyses and plans the projections'
 * large statements for every batch (measured: planning took more of the server's time than executing them).
 * PostgreSQL types the literals by the statement's parameters, as it types parameters sent apart.
 */
export class StatementQueue {
  private readonly queued: Piece[] = [];
  /** A round trip that carried queued statements failed: the error may be theirs, not the caller's. */
  failedWithQueued = false;
  /** The client to hand to projections: its `query` sends what waits first. */
  readonly client: pg.PoolClient;

  constructor(private readonly raw: pg.PoolClient) {
    const query = (text: unknown, values?: unknown[]): Promise<pg.QueryResult> => this.query(text, values);
    this.client = new Proxy(raw, {
      get: (target, property) => (property === 'query' ? query : Reflect.get(target, property, target)),
    });
    queues.set(this.client, this);
  }

  /** Whether a queued statement's result still has to be checked. */
  get checking(): boolean {
    return this.queued.some((q) => q.check !== undefined);
  }

  /** Queues `text` as it is (`statements` statements, no parameters, not prepared); `check` gets their results. */
  addText(text: string, statements: number, check?: Piece['check']): void {
    this.queued.push({
      text: trimmed(text),
      skip: 0,
      results: statements,
      prepares: false,
      ...(check ? { check } : {}),
    });
  }

  /** Queues one statement with its parameters, run as a prepared statement of the connection; `check` gets its result. */
  async add(text: string, values?: readonly unknown[], check?: Piece['check']): Promise<void> {
    this.queued.push({ ...(await this.prepared(text, values)), ...(check ? { check } : {}) });
  }

  /** Sends what is queued, then `text` (`statements` statements, no parameters): the results of `text`. */
  async sendWith(text: string, statements: number): Promise<pg.QueryResult[]> {
    const last = trimmed(text);
    return this.send(last.length > 0 ? { text: last, skip: 0, results: statements, prepares: false } : undefined);
  }

  private async query(text: unknown, values?: unknown[]): Promise<pg.QueryResult> {
    if (typeof text !== 'string') throw new Error('StatementQueue: only query(text, values) is supported');
    const [result] = await this.send(await this.prepared(text, values));
    return result!;
  }

  private async send(last: Piece | undefined): Promise<pg.QueryResult[]> {
    const pieces = this.queued.splice(0);
    if (last) pieces.push(last);
    if (pieces.length === 0) return [];
    let answer: pg.QueryResult | pg.QueryResult[];
    try {
      answer = (await this.raw.query(pieces.map((p) => p.text).join(';\n'))) as unknown as
        pg.QueryResult | pg.QueryResult[];
    } catch (error) {
      if (pieces.length > (last ? 1 : 0)) this.failedWithQueued = true;
      if (pieces.some((p) => p.prepares)) this.session().stale = true;
      throw error;
    }
    const results = Array.isArray(answer) ? answer : [answer];
    let at = 0;
    let mine: pg.QueryResult[] = [];
    for (const piece of pieces) {
      const own = results.slice(at + piece.skip, at + piece.skip + piece.results);
      at += piece.skip + piece.results;
      if (piece === last) mine = own;
      else piece.check?.(own);
    }
    return mine;
  }

  /** `EXECUTE` of the statement, with its `PREPARE` when the connection has not prepared it yet. */
  private async prepared(text: string, values?: readonly unknown[]): Promise<Piece> {
    const session = await this.freshSession();
    const name = statementName(text);
    const execute = `EXECUTE ${name}${values && values.length > 0 ? `(${values.map(literal).join(', ')})` : ''}`;
    if (session.names.has(name)) return { text: execute, skip: 0, results: 1, prepares: false };
    session.names.add(name);
    return { text: `PREPARE ${name} AS ${trimmed(text)};\n${execute}`, skip: 1, results: 1, prepares: true };
  }

  private session(): Session {
    let session = sessions.get(this.raw);
    if (!session) {
      session = { names: new Set(), stale: false };
      sessions.set(this.raw, session);
    }
    return session;
  }

  /** The connection's prepared statements; re-read after a failed message that prepared some (did they stay?). */
  private async freshSession(): Promise<Session> {
    const session = this.session();
    if (session.stale) {
      const { rows } = await this.raw.query<{ name: string }>('SELECT name FROM pg_prepared_statements');
      session.names = new Set(rows.map((row) => row.name));
      session.stale = false;
    }
    return session;
  }
}

/**
 * Runs a statement whose result the caller does not read: queued on a `StatementQueue`'s client (sent with the next
 * statement waited for), else at once.
 */
export async function sendLater(client: pg.ClientBase, text: string, values?: readonly unknown[]): Promise<void> {
  const queue = queues.get(client);
  if (queue) await queue.add(text, values);
  else await client.query(text, values as unknown[] | undefined);
}

const names = new Map<string, string>();

/**
 * Runs a statement whose result is read, but not at once: queued on a `StatementQueue`'s client, `read` gets its
 * result when the next statement waited for comes back (before that one's result is used); else at once.
 */
export async function sendAndRead<R extends pg.QueryResultRow>(
  client: pg.ClientBase,
  text: string,
  values: readonly unknown[],
  read: (result: pg.QueryResult<R>) => void,
): Promise<void> {
  const queue = queues.get(client);
  if (queue) await queue.add(text, values, (results) => read(results[0] as pg.QueryResult<R>));
  else read(await client.query<R>(text, values as unknown[]));
}

/** The name a statement is prepared under: its text's hash (the same text, the same statement). */
export function statementName(text: string): string {
  let name = names.get(text);
  if (name === undefined) {
    name = `rm_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`;
    // The projections' statements are a few fixed texts; a bound keeps a caller with varying texts from growing it.
    if (names.size >= 1024) names.clear();
    names.set(text, name);
  }
  return name;
}

/** `text` with `$1`, `$2`, … replaced by the values as SQL literals. Our statements hold no `$n` of their own. */
export function inlineParameters(text: string, values?: readonly unknown[]): string {
  if (!values || values.length === 0) return text;
  return text.replace(/\$(\d+)/g, (_, n: string) => {
    const index = Number(n) - 1;
    if (index >= values.length) throw new Error(`inlineParameters: no value for $${n}`);
    return literal(values[index]);
  });
}

/** A value as node-postgres would send it as a parameter, but as a quoted literal of unknown type. */
function literal(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  return quoted(textOf(value));
}

function textOf(value: unknown): string {
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return `{${value.map(arrayElement).join(',')}}`;
  if (Buffer.isBuffer(value)) throw new Error('inlineParameters: binary values are not supported');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function arrayElement(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (Array.isArray(value)) return textOf(value);
  return `"${textOf(value).replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

/**
 * `text` as a quoted literal, as `pg.escapeLiteral` quotes it (an `E''` string with backslashes doubled when it has
 * any, so it reads the same whatever `standard_conforming_strings` says), but with native replacements: that one
 * appends character by character, which cost more than the rest of a batch of large JSON in a profile.
 */
function quoted(text: string): string {
  // A NUL would end the simple query's message inside the literal: PostgreSQL refuses it in text anyway.
  if (text.includes('\u0000')) throw new Error('inlineParameters: text with a NUL character');
  const doubled = text.replaceAll("'", "''");
  return text.includes('\\') ? ` E'${doubled.replaceAll('\\', '\\\\')}'` : `'${doubled}'`;
}

function trimmed(text: string): string {
  return text.trim().replace(/;+$/, '').trim();
}
