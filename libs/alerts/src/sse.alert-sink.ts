import type { ServerResponse } from 'node:http';
import type { Alert, AlertSink } from './alert-sink.port.js';

const HEARTBEAT_MS = 15_000;

/** Server-sent events for dashboards: every alert goes to whoever listens at `/v1/alerts/stream` now. */
export class SseAlertSink implements AlertSink {
  readonly name = 'sse';
  readonly retryable = false;
  private readonly clients = new Set<ServerResponse>();
  private heartbeat?: NodeJS.Timeout;

  get listeners(): number {
    return this.clients.size;
  }

  attach(response: ServerResponse): void {
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    if (response.req?.method === 'HEAD') {
      response.end(); // a HEAD has no body to stream: without the end its headers would never go out
      return;
    }
    response.write(': audit-ledger alerts\n\n');
    this.clients.add(response);
    response.on('close', () => this.clients.delete(response));
    this.heartbeat ??= setInterval(() => this.broadcast(': keep-alive\n\n'), HEARTBEAT_MS).unref();
  }

  async deliver(alert: Alert): Promise<void> {
    this.broadcast(`id: ${alert.alertId}\nevent: ${alert.type}\ndata: ${JSON.stringify(alert)}\n\n`);
  }

  private broadcast(frame: string): void {
    for (const client of this.clients) client.write(frame);
  }

  /** Ends every open stream, so the HTTP server can close. */
  async close(): Promise<void> {
    clearInterval(this.heartbeat);
    for (const client of this.clients) client.end();
    this.clients.clear();
  }
}
