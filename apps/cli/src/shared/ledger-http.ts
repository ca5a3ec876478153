import type { ClientTlsOptions } from '@audit-ledger/client';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { Readable } from 'node:stream';
import type { ConnectionOptions } from './connection-options.js';

/**
 * Base URL of the ledger's HTTP API: `--http-url` as given; else `https://<host>:<http-port>` when a CA is given
 * (`--tls-ca`: the ledger speaks TLS), `http://…` otherwise.
 */
export function ledgerHttpBase(connection: ConnectionOptions): string {
  if (connection.httpUrl) return connection.httpUrl.replace(/\/+$/, '');
  return `${connection.tlsCa ? 'https' : 'http'}://${connection.host}:${connection.httpPort}`;
}

/** The client's `tls` option from the flags (undefined: plain TCP). */
export function clientTlsOf(connection: ConnectionOptions): ClientTlsOptions | undefined {
  if (!connection.tlsCa && !connection.tlsCert) return undefined;
  return {
    ...(connection.tlsCa ? { ca: connection.tlsCa } : {}),
    ...(connection.tlsCert ? { cert: connection.tlsCert } : {}),
    ...(connection.tlsKey ? { key: connection.tlsKey } : {}),
  };
}

/**
 * `fetch` that trusts `--tls-ca` for an https URL (the global fetch only trusts the system's CAs): the answer is a
 * standard Response, its body streamed.
 */
export function ledgerFetch(connection: ConnectionOptions, url: string, init: RequestInit = {}): Promise<Response> {
  if (!url.startsWith('https:') || !connection.tlsCa) return fetch(url, init);
  const ca = readFileSync(connection.tlsCa);
  const cert = connection.tlsCert ? readFileSync(connection.tlsCert) : undefined;
  const key = connection.tlsKey ? readFileSync(connection.tlsKey) : undefined;
  return new Promise((resolve, reject) => {
    const outgoing = request(
      url,
      {
        method: init.method ?? 'GET',
        headers: Object.fromEntries(new Headers(init.headers).entries()),
        ca,
        ...(cert && key ? { cert, key } : {}),
      },
      (incoming) => {
        const headers = new Headers();
        for (const [name, value] of Object.entries(incoming.headers)) {
          for (const one of [value ?? []].flat()) headers.append(name, one);
        }
        const status = incoming.statusCode ?? 502;
        const empty = status === 204 || status === 304 || init.method === 'HEAD';
        resolve(
          new Response(empty ? null : (Readable.toWeb(incoming) as ReadableStream<Uint8Array>), {
            status,
            statusText: incoming.statusMessage ?? '',
            headers,
          }),
        );
      },
    );
    // fetch reports network failures as a TypeError with the cause; callers read `cause.code`.
    outgoing.on('error', (error) => reject(Object.assign(new TypeError('fetch failed'), { cause: error })));
    if (init.signal) init.signal.addEventListener('abort', () => outgoing.destroy(new Error('aborted')));
    if (typeof init.body === 'string') outgoing.write(init.body);
    outgoing.end();
  });
}
