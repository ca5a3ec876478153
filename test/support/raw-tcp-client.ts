import { connect, type Socket } from 'node:net';

/**
 * A minimal client of the ledger's TCP transport (Nest's framing: `<length>#<JSON>`), sending valid frames with
 * whatever JSON text the test gives: payloads a JSON.stringify-based client cannot send (null data, -0, escapes).
 * Frames are pure ASCII (non-ASCII escaped), so a length in characters and one in bytes agree.
 */
export class RawTcpClient {
  private buffer = '';
  private nextId = 0;
  private readonly waiting = new Map<string, (reply: { err?: unknown; response?: unknown }) => void>();

  private constructor(
    private readonly socket: Socket,
    private readonly credential: string | null,
  ) {
    socket.setEncoding('utf8');
    socket.setNoDelay(true);
    socket.on('data', (chunk: string) => this.receive(chunk));
  }

  /** `credential`: sent as each packet's `auth` member (none when null). */
  static async connect(port: number, credential: string | null): Promise<RawTcpClient> {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    return new RawTcpClient(socket, credential);
  }

  /** Sends `data` (JSON text) under `pattern`; resolves with the reply (`err` for an error reply). */
  send(pattern: string, dataJson: string): Promise<{ err?: unknown; response?: unknown }> {
    return this.sendWith(
      pattern,
      dataJson,
      this.credential === null ? '' : `"auth":${JSON.stringify(this.credential)}`,
    );
  }

  /** Sends with `members` (JSON text of further packet members, e.g. `"auth":"…"`) next to pattern, data and id. */
  sendWith(pattern: string, dataJson: string, members: string): Promise<{ err?: unknown; response?: unknown }> {
    const id = `fuzz-${this.nextId++}`;
    const more = members === '' ? '' : `,${members}`;
    const frame = ascii(`{"pattern":${JSON.stringify(pattern)},"data":${dataJson},"id":"${id}"${more}}`);
    return new Promise((resolve, reject) => {
      this.waiting.set(id, resolve);
      this.socket.write(`${frame.length}#${frame}`, (error) => error && reject(error));
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private receive(chunk: string): void {
    this.buffer += chunk;
    for (;;) {
      const hash = this.buffer.indexOf('#');
      if (hash < 0) return;
      const length = Number(this.buffer.slice(0, hash));
      if (this.buffer.length < hash + 1 + length) return;
      const message = JSON.parse(this.buffer.slice(hash + 1, hash + 1 + length)) as {
        id: string;
        err?: unknown;
        response?: unknown;
        isDisposed?: boolean;
      };
      this.buffer = this.buffer.slice(hash + 1 + length);
      const resolve = this.waiting.get(message.id);
      if (!resolve) continue;
      if (message.err !== undefined || message.response !== undefined || message.isDisposed) {
        this.waiting.delete(message.id);
        resolve(message);
      }
    }
  }
}

function ascii(json: string): string {
  return json.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
