import {
  parseWitnessRecord,
  type RollbackAcknowledgement,
  type SealedCheckpoint,
  type WitnessHead,
} from '@audit-ledger/integrity';
import { WitnessRefusedError, type Witness, type WitnessState } from './witness.js';

/**
 * A client of an HTTP witness (`ledger witness serve`; protocol in docs/integrity.md §5):
 * `GET /checkpoints/latest` → `{head, last}`; `POST /checkpoints` (a sealed checkpoint) → 201, 200 for a repeat,
 * 409 when it does not chain on the head; `POST /rollbacks` (a signed rollback acknowledgement) → 201 or 409.
 */
export class HttpWitness implements Witness {
  readonly kind = 'http';
  readonly target: string;
  /** Aborts requests in flight when the ledger stops (a hanging witness must not hold the shutdown). */
  private readonly closing = new AbortController();

  constructor(
    baseUrl: string,
    private readonly token?: string,
    private readonly timeoutMs = 10_000,
  ) {
    this.target = baseUrl.replace(/\/+$/, '');
  }

  close(): void {
    this.closing.abort(new Error('the ledger is stopping'));
  }

  async latest(): Promise<WitnessState> {
    const body = await this.request('GET', '/checkpoints/latest');
    const value = body as { head?: unknown; last?: unknown };
    const head = value.head === null ? null : (value.head as WitnessHead | undefined);
    const last = value.last === null || value.last === undefined ? null : parseWitnessRecord(value.last);
    if (
      head === undefined ||
      (head !== null && (typeof head.checkpointHash !== 'string' || typeof head.toPosition !== 'string'))
    ) {
      throw new Error(`the witness ${this.target} answered GET /checkpoints/latest without a head`);
    }
    return { head, last };
  }

  async append(checkpoint: SealedCheckpoint): Promise<void> {
    await this.request('POST', '/checkpoints', checkpoint);
  }

  async acknowledgeRollback(ack: RollbackAcknowledgement): Promise<void> {
    await this.request('POST', '/rollbacks', ack);
  }

  private async request(method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    const response = await fetch(`${this.target}${path}`, {
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.any([this.closing.signal, AbortSignal.timeout(this.timeoutMs)]),
    });
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? null : JSON.parse(text);
    } catch {
      parsed = null;
    }
    if (response.status === 409) {
      const message = (parsed as { message?: unknown } | null)?.message;
      throw new WitnessRefusedError(
        `the witness ${this.target} refused ${method} ${path}: ${typeof message === 'string' ? message : text.slice(0, 300)}`,
      );
    }
    if (!response.ok) {
      throw new Error(
        `the witness ${this.target} answered ${method} ${path} with HTTP ${response.status}: ${text.slice(0, 300)}`,
      );
    }
    return parsed;
  }
}
