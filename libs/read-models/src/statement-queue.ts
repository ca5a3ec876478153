import pg from 'pg';

/** A statement whose result nobody waits for: sent later, with the next statement that is waited for. */
interface Queued {
  text: string;
  /** How many statements `text` holds (each gives one result). */
  statements: number;
  /** Called with the text's results once they are back (a throw fails the round trip's caller). */
  check?: (results: pg.QueryResult[]) => void;
}

const queues = new WeakMap<object, StatementQueue>();

/**
 * Round trips of one projection batch's transaction: statements whose results are not read (`sendLater`) wait, and
 * go to the server in one simple-protocol message together with the next statement that is waited for (or with the
 * checkpoint and `COMMIT`), in the order they were made. The server runs them one after another as before, each
 * seeing the ones before it; only their results (unread) and their errors come back later. An error of a queued
 * statement therefore surfaces at a later call: the runner applies a failed batch again without the queue to find
 * the event it belongs to.
 *
 * Parameters of statements sent with others are inlined as quoted literals (a simple query has no parameters), which
 * PostgreSQL types from their context as it types parameters.
 */
export class StatementQueue {
  private readonly queued: Queued[] = [];
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

  get pending(): boolean {
    return this.queued.length > 0;
  }

  /** Whether a queued statement's result still has to be checked. */
  get checking(): boolean {
    return this.queued.some((q) => q.check !== undefined);
  }

  /** Queues `text` (`statements` statements, no parameters); `check` gets their results. */
  add(text: string, statements = 1, check?: Queued['check']): void {
    this.queued.push({ text: trimmed(text), statements, ...(check ? { check } : {}) });
  }

  /** Sends what is queued, then `text` (`statements` statements, no parameters): the results of `text`. */
  async sendWith(text: string, statements: number): Promise<pg.QueryResult[]> {
    const queued = this.queued.splice(0);
    const message = [...queued.map((q) => q.text), trimmed(text)].filter((t) => t.length > 0).join(';\n');
    if (message.length === 0) return [];
    let answer: pg.QueryResult | pg.QueryResult[];
    try {
      answer = (await this.raw.query(message)) as unknown as pg.QueryResult | pg.QueryResult[];
    } catch (error) {
      if (queued.length > 0) this.failedWithQueued = true;
      throw error;
    }
    const results = Array.isArray(answer) ? answer : [answer];
    let at = 0;
    for (const q of queued) {
      q.check?.(results.slice(at, at + q.statements));
      at += q.statements;
    }
    return results.slice(at, at + statements);
  }

  private async query(text: unknown, values?: unknown[]): Promise<pg.QueryResult> {
    if (typeof text !== 'string') throw new Error('StatementQueue: only query(text, values) is supported');
    if (!this.pending) return this.raw.query(text, values);
    const [result] = await this.sendWith(inlineParameters(text, values), 1);
    return result!;
  }
}

/**
 * Runs a statement whose result the caller does not read: queued on a `StatementQueue`'s client (sent with the next
 * statement waited for), else at once.
 */
export async function sendLater(client: pg.ClientBase, text: string, values?: readonly unknown[]): Promise<void> {
  const queue = queues.get(client);
  if (queue) queue.add(inlineParameters(text, values));
  else await client.query(text, values as unknown[] | undefined);
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
export function literal(value: unknown): string {
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

function quoted(text: string): string {
  // A NUL would end the simple query's message inside the literal: PostgreSQL refuses it in text anyway.
  if (text.includes('\u0000')) throw new Error('inlineParameters: text with a NUL character');
  return pg.escapeLiteral(text);
}

function trimmed(text: string): string {
  return text.trim().replace(/;+$/, '').trim();
}
