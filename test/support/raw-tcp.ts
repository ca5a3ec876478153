import { connect, type Socket } from 'node:net';
import { connect as connectTls, type ConnectionOptions } from 'node:tls';
import { StringDecoder } from 'node:string_decoder';
import { setTimeout as sleep } from 'node:timers/promises';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';

/** A reply frame of the ledger's TCP transport (Nest's response packet). */
export interface ReplyPacket {
  id: string | null;
  response?: unknown;
  err?: { error?: { code?: string; message?: string } } | string;
  isDisposed?: boolean;
  status?: string;
}

/** A raw TCP connection to the ledger that writes arbitrary bytes and reads `<length>#<json>` replies. */
export interface RawConnection {
  socket: Socket;
  replies: ReplyPacket[];
  /** Resolves once the ledger closed the connection (or it failed). */
  closed: Promise<void>;
  isClosed(): boolean;
  write(data: string | Uint8Array): Promise<void>;
  /** Resolves with the first reply matching, or undefined when the connection closes without one or `ms` pass. */
  nextReply(match?: (reply: ReplyPacket) => boolean, ms?: number): Promise<ReplyPacket | undefined>;
  destroy(): void;
}

/** With `tls`, the connection speaks TLS (resolves once the handshake is done, on the client's side). */
export async function connectRaw(port: number, tls?: ConnectionOptions): Promise<RawConnection> {
  const socket = tls
    ? connectTls({ host: '127.0.0.1', port, servername: 'localhost', ...tls })
    : connect({ host: '127.0.0.1', port });
  socket.on('error', () => undefined); // resets after the ledger refused a frame are expected
  await new Promise<void>((resolve, reject) => {
    socket.once(tls ? 'secureConnect' : 'connect', resolve);
    socket.once('error', reject);
  });
  const replies: ReplyPacket[] = [];
  const waiters = new Set<() => void>();
  const decoder = new StringDecoder('utf8');
  let buffer = '';
  let closed = false;
  socket.on('data', (chunk: Buffer) => {
    buffer += decoder.write(chunk);
    for (;;) {
      const hash = buffer.indexOf('#');
      if (hash < 0) break;
      const length = Number(buffer.slice(0, hash));
      if (buffer.length < hash + 1 + length) break;
      replies.push(JSON.parse(buffer.slice(hash + 1, hash + 1 + length)) as ReplyPacket);
      buffer = buffer.slice(hash + 1 + length);
    }
    for (const wake of waiters) wake();
  });
  const closedPromise = new Promise<void>((resolve) =>
    socket.once('close', () => {
      closed = true;
      for (const wake of waiters) wake();
      resolve();
    }),
  );
  return {
    socket,
    replies,
    closed: closedPromise,
    isClosed: () => closed,
    write: (data) =>
      new Promise<void>((resolve) => {
        if (closed || socket.writableEnded) return resolve();
        socket.write(data, () => resolve());
      }),
    async nextReply(match = () => true, ms = 15_000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const found = replies.find(match);
        if (found || closed || Date.now() > deadline) return found;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
          waiters.add(() => {
            clearTimeout(timer);
            resolve();
          });
        });
        waiters.clear();
      }
    },
    destroy: () => socket.destroy(),
  };
}

/** The error code of a reply (`err.error.code`), if it is a ledger error. */
export function errorCode(reply: ReplyPacket | undefined): string | undefined {
  const err = reply?.err;
  return typeof err === 'object' && err !== null ? err.error?.code : undefined;
}

/** Resolves when `promise` settles or `ms` pass; says which. */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Bytes this process holds after a full garbage collection (heap plus buffers outside it). */
export async function retainedBytes(): Promise<number> {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  for (let i = 0; i < 3; i++) {
    gc();
    await sleep(20);
  }
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.external;
}
