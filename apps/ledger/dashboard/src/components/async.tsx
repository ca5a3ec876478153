import { useEffect, useState, type ReactNode } from 'react';
import { ApiError } from '../api';

export type Loaded<T> =
  { state: 'loading' } | { state: 'ok'; value: T } | { state: 'unavailable' } | { state: 'error'; message: string };

/** Runs `load` whenever `key` changes; a newer load wins over an older one still running. */
export function useLoad<T>(load: (signal: AbortSignal) => Promise<T>, key: string): [Loaded<T>, () => void] {
  const [loaded, setLoaded] = useState<Loaded<T>>({ state: 'loading' });
  const [nonce, setNonce] = useState(0);
  useEffect(() => {
    const abort = new AbortController();
    load(abort.signal).then(
      (value) => !abort.signal.aborted && setLoaded({ state: 'ok', value }),
      (error: unknown) => {
        if (abort.signal.aborted) return;
        if (error instanceof ApiError && error.notAvailable) setLoaded({ state: 'unavailable' });
        else setLoaded({ state: 'error', message: error instanceof Error ? error.message : String(error) });
      },
    );
    return () => abort.abort();
  }, [key, nonce]);
  return [loaded, () => setNonce((n) => n + 1)];
}

/** What a part of a page shows while loading, when the ledger lacks its route, or on an error. */
export function Show<T>({ loaded, children }: { loaded: Loaded<T>; children: (value: T) => ReactNode }) {
  if (loaded.state === 'loading') return <p className="loading">Loading…</p>;
  if (loaded.state === 'unavailable') return <NotAvailable />;
  if (loaded.state === 'error')
    return (
      <p className="error" role="alert">
        {loaded.message}
      </p>
    );
  return <>{children(loaded.value)}</>;
}

export function NotAvailable({ what }: { what?: string }) {
  return (
    <p className="not-available">
      {what ? `${what}: ` : ''}not available on this ledger (it needs a newer ledger API).
    </p>
  );
}
