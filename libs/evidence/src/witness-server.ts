import {
  checkCheckpointSignature,
  checkRollbackAcknowledgementSignature,
  headOf,
  parseRollbackAcknowledgement,
  parseSealedCheckpoint,
  witnessAcceptsCheckpoint,
  witnessAcceptsRollback,
  type PublicKeyRing,
  type WitnessRecord,
} from '@audit-ledger/integrity';
import { timingSafeEqual } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { appendToWitnessFile, lastWitnessRecord } from './witness-file.js';

export const WITNESS_LOG_FILE = 'checkpoints.jsonl';
const MAX_BODY_BYTES = 256 * 1024;

export interface WitnessServerOptions {
  /** Directory of the witness log (`checkpoints.jsonl`, one record per line, mode 0600); created 0700 if missing. */
  dir: string;
  port: number;
  host?: string;
  /** Requests must carry `Authorization: Bearer <token>` when set. */
  token?: string | undefined;
  /** Checkpoints and acknowledgements must be signed by one of these keys when set. */
  keys?: PublicKeyRing | undefined;
  log?: (line: string) => void;
}

export interface RunningWitnessServer {
  port: number;
  url: string;
  file: string;
  close(): Promise<void>;
}

class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * `ledger witness serve`: an HTTP witness (docs/integrity.md §5). It keeps an append-only log of the ledger's
 * checkpoints (fsync'd before it answers) and accepts a checkpoint only when it chains on its head, so it never
 * holds a fork; a signed rollback acknowledgement naming its head moves the head back to where the ledger resumed.
 *
 *   GET  /checkpoints/latest  200 {head: {checkpointHash, toPosition} | null, last: record | null}
 *   POST /checkpoints         a sealed checkpoint: 201 stored, 200 a repeat of the head, 409 not chained (a fork)
 *   POST /rollbacks           a rollback acknowledgement: 201 stored, 200 a repeat, 409 it does not name the head
 */
export async function startWitnessServer(options: WitnessServerOptions): Promise<RunningWitnessServer> {
  mkdirSync(options.dir, { recursive: true, mode: 0o700 });
  const file = join(options.dir, WITNESS_LOG_FILE);
  let last: WitnessRecord | null = await lastWitnessRecord(file);
  let writing: Promise<unknown> = Promise.resolve();
  const log = options.log ?? (() => undefined);

  /** Decides and appends one record at a time, so the head a decision is based on is the head it appends to. */
  const serialised = <T>(work: () => Promise<T>): Promise<T> => {
    const result = writing.then(work);
    writing = result.catch(() => undefined);
    return result;
  };

  const store = async (record: WitnessRecord) => {
    await appendToWitnessFile(file, record);
    last = record;
  };

  const handle = async (request: IncomingMessage): Promise<{ status: number; body: unknown }> => {
    authorise(request, options.token);
    const path = (request.url ?? '').split('?')[0];
    if (path === '/checkpoints/latest') {
      if (request.method !== 'GET') throw new HttpProblem(405, 'WITNESS.METHOD_NOT_ALLOWED', 'use GET');
      return { status: 200, body: { head: last ? headOf(last) : null, last } };
    }
    if (path === '/checkpoints') {
      if (request.method !== 'POST') throw new HttpProblem(405, 'WITNESS.METHOD_NOT_ALLOWED', 'use POST');
      const checkpoint = parseSealedCheckpoint(await readJson(request));
      if (!checkpoint) throw new HttpProblem(400, 'WITNESS.INVALID', 'the body is not a sealed checkpoint');
      if (options.keys) {
        const problem = checkCheckpointSignature(checkpoint, options.keys);
        if (problem) throw new HttpProblem(400, 'WITNESS.BAD_SIGNATURE', `checkpoint refused: ${problem.kind}`);
      }
      return serialised(async () => {
        const decision = witnessAcceptsCheckpoint(last ? headOf(last) : null, checkpoint);
        if (!decision.accept) {
          log(`refused checkpoint ${checkpoint.checkpointHash}: ${decision.reason}`);
          throw new HttpProblem(409, 'WITNESS.FORK_REFUSED', decision.reason);
        }
        if (!decision.duplicate) await store(checkpoint);
        return {
          status: decision.duplicate ? 200 : 201,
          body: { stored: !decision.duplicate, head: headOf(checkpoint) },
        };
      });
    }
    if (path === '/rollbacks') {
      if (request.method !== 'POST') throw new HttpProblem(405, 'WITNESS.METHOD_NOT_ALLOWED', 'use POST');
      const ack = parseRollbackAcknowledgement(await readJson(request));
      if (!ack) throw new HttpProblem(400, 'WITNESS.INVALID', 'the body is not a rollback acknowledgement');
      if (options.keys) {
        const problem = checkRollbackAcknowledgementSignature(ack, options.keys);
        if (problem) throw new HttpProblem(400, 'WITNESS.BAD_SIGNATURE', `acknowledgement refused: ${problem}`);
      }
      return serialised(async () => {
        const decision = witnessAcceptsRollback(last ? headOf(last) : null, last, ack);
        if (!decision.accept) throw new HttpProblem(409, 'WITNESS.ROLLBACK_REFUSED', decision.reason);
        if (!decision.duplicate) {
          await store({ rollbackAcknowledged: ack });
          log(
            `rollback acknowledged by ${ack.acknowledgedBy} (event ${ack.eventId}): abandoned ${ack.abandoned.checkpointHash} ` +
              `up to position ${ack.abandoned.toPosition}, resumed from ${ack.resumedFrom.checkpointHash} up to ${ack.resumedFrom.toPosition}`,
          );
        }
        return { status: decision.duplicate ? 200 : 201, body: { stored: !decision.duplicate, head: ack.resumedFrom } };
      });
    }
    throw new HttpProblem(404, 'WITNESS.NOT_FOUND', `no route ${request.method} ${path}`);
  };

  const server = createServer((request, response) => {
    handle(request).then(
      ({ status, body }) => send(response, status, body),
      (error: unknown) => {
        if (error instanceof HttpProblem) {
          send(response, error.status, { errorCode: error.errorCode, message: error.message });
        } else {
          log(`error: ${error instanceof Error ? error.message : String(error)}`);
          send(response, 500, { errorCode: 'WITNESS.INTERNAL', message: 'the witness could not store the record' });
        }
      },
    );
  });
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port, address } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    port,
    url: `http://${host}:${port}`,
    file,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function authorise(request: IncomingMessage, token: string | undefined): void {
  if (!token) return;
  const given = Buffer.from(request.headers.authorization ?? '');
  const expected = Buffer.from(`Bearer ${token}`);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new HttpProblem(401, 'WITNESS.UNAUTHORIZED', 'a valid bearer token is required');
  }
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES)
      throw new HttpProblem(413, 'WITNESS.TOO_LARGE', `the body exceeds ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpProblem(400, 'WITNESS.INVALID', 'the body is not JSON');
  }
}

function send(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}
