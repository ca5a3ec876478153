// The dashboard reads only the ledger's HTTP API, with the credential its user signed in with (sessionStorage).

const KEY_STORAGE = 'audit-ledger.credential';

export function storedCredential(): string | null {
  return sessionStorage.getItem(KEY_STORAGE);
}
export function storeCredential(credential: string | null): void {
  if (credential === null) sessionStorage.removeItem(KEY_STORAGE);
  else sessionStorage.setItem(KEY_STORAGE, credential);
}

/** An answer other than 2xx: its status and the ledger's error code and message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
  /** 404 on a route the ledger does not have (yet): the part of the page says "not available". */
  get notAvailable(): boolean {
    return this.status === 404 && /^Cannot (GET|POST|HEAD) /.test(this.message);
  }
}

export type Params = Record<string, string | number | boolean | undefined | null>;

function withQuery(path: string, params: Params = {}): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') query.set(name, String(value));
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

function headers(extra: Record<string, string> = {}): Record<string, string> {
  const credential = storedCredential();
  return { ...(credential ? { authorization: `Bearer ${credential}` } : {}), ...extra };
}

async function errorOf(response: Response): Promise<ApiError> {
  let code = `HTTP.${response.status}`;
  let message = response.statusText || `HTTP ${response.status}`;
  try {
    const body = (await response.json()) as { error?: { code?: string; message?: string }; message?: string };
    if (body.error?.code) code = body.error.code;
    message = body.error?.message ?? body.message ?? message;
  } catch {
    // not JSON: keep the status text
  }
  return new ApiError(response.status, code, message);
}

export interface Answer<T> {
  body: T;
  /** `x-ledger-lag`: events the read models are behind the store's head, when the answer says. */
  lag: number | null;
}

export async function getWithLag<T>(path: string, params?: Params, signal?: AbortSignal): Promise<Answer<T>> {
  const response = await fetch(withQuery(path, params), { headers: headers(), ...(signal ? { signal } : {}) });
  if (!response.ok) throw await errorOf(response);
  const lag = response.headers.get('x-ledger-lag');
  return { body: (await response.json()) as T, lag: lag === null ? null : Number(lag) };
}

export async function get<T>(path: string, params?: Params, signal?: AbortSignal): Promise<T> {
  return (await getWithLag<T>(path, params, signal)).body;
}

export async function post<T>(path: string, body: unknown): Promise<T> {
  const response = await fetch(path, {
    method: 'POST',
    headers: headers({ 'content-type': 'application/json' }),
    body: JSON.stringify(body ?? {}),
  });
  if (!response.ok) throw await errorOf(response);
  return (await response.json()) as T;
}

/** Fetches with the credential and hands the answer to the browser as a file download. */
export async function download(path: string, params: Params, fallbackName: string): Promise<string> {
  const response = await fetch(withQuery(path, params), { headers: headers() });
  if (!response.ok) throw await errorOf(response);
  const disposition = response.headers.get('content-disposition') ?? '';
  const name = /filename="?([^";]+)"?/.exec(disposition)?.[1] ?? fallbackName;
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return name;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface ServerEvent {
  id: string | null;
  event: string;
  data: string;
}

/**
 * Reads a server-sent event stream with `fetch` (EventSource cannot send the Authorization header), resuming after a
 * disconnect from the last event id seen (`Last-Event-ID`). Calls `onStatus` with `open`, `reconnecting` or
 * `unavailable` (404: the route is not on this ledger). Returns a function that stops it.
 */
export function followEvents(
  path: string,
  onEvent: (event: ServerEvent) => void,
  onStatus: (status: 'open' | 'reconnecting' | 'unavailable' | 'refused') => void,
): () => void {
  const abort = new AbortController();
  let lastEventId: string | null = null;
  const run = async (): Promise<void> => {
    while (!abort.signal.aborted) {
      try {
        const response = await fetch(path, {
          headers: headers({
            accept: 'text/event-stream',
            ...(lastEventId !== null ? { 'last-event-id': lastEventId } : {}),
          }),
          signal: abort.signal,
        });
        if (response.status === 404) return onStatus('unavailable');
        if (response.status === 401 || response.status === 403) return onStatus('refused');
        if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
        onStatus('open');
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value.replace(/\r\n?/g, '\n');
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const frame = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const parsed = parseFrame(frame);
            if (parsed.id !== null) lastEventId = parsed.id;
            if (parsed.data !== '') onEvent(parsed);
          }
        }
      } catch {
        if (abort.signal.aborted) return;
      }
      onStatus('reconnecting');
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  };
  void run();
  return () => abort.abort();
}

function parseFrame(frame: string): ServerEvent {
  let id: string | null = null;
  let event = 'message';
  const data: string[] = [];
  for (const line of frame.split('\n')) {
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'id') id = value;
    else if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  return { id, event, data: data.join('\n') };
}
