import { useState, type FormEvent } from 'react';
import { ApiError, storeCredential } from '../api';
import { whoAmI, type SignInProps } from '../session';

/** Sign in with an API key (`ledger keys issue --role reader|security`); kept in sessionStorage for this tab only. */
export function SignIn({ onSignedIn }: SignInProps) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    storeCredential(key.trim());
    try {
      onSignedIn(await whoAmI());
    } catch (caught) {
      storeCredential(null);
      setError(
        caught instanceof ApiError && caught.status === 401
          ? 'This key is not accepted (unknown, revoked or malformed).'
          : caught instanceof ApiError && caught.status === 403
            ? 'This key may not read the ledger (it needs the reader or security role).'
            : caught instanceof Error
              ? caught.message
              : String(caught),
      );
    } finally {
      setBusy(false);
    }
  };
  return (
    <main className="signin">
      <h1>audit-ledger</h1>
      <form onSubmit={(event) => void submit(event)} aria-label="Sign in">
        <label htmlFor="api-key">API key</label>
        <input
          id="api-key"
          name="api-key"
          type="password"
          autoComplete="off"
          value={key}
          onChange={(event) => setKey(event.target.value)}
          required
          aria-describedby="api-key-hint"
        />
        <p id="api-key-hint" className="hint">
          A key with the reader role (or security, to review mismatches and use forensics). Kept in this tab only.
        </p>
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
      </form>
    </main>
  );
}
