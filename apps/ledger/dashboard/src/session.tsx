import { createContext, useContext, useEffect, useState, type ReactNode } from 'react';
import { ApiError, get, storeCredential, storedCredential } from './api';

export interface Principal {
  id: string;
  /** `GET /v1/whoami`: the key's or the token's name, when the ledger says. */
  name?: string;
  roles: string[];
}

/** Who is signed in, and what they may do: a reader sees no review or forensics actions. */
export interface Session {
  principal: Principal;
  canReview: boolean;
  signOut(): void;
}

const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside SessionProvider');
  return session;
}

/**
 * The principal behind the stored credential: `GET /v1/whoami`; on a ledger without it, the key's roles are found
 * by what it may read (`/v1/reconciliation/status` needs reader, `/v1/reconciliation/reruns` security).
 */
export async function whoAmI(): Promise<Principal> {
  try {
    const { principal } = await get<{ principal: Principal }>('/v1/whoami');
    return principal;
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 404)) throw error;
  }
  await get('/v1/reconciliation/status');
  const roles = ['reader'];
  try {
    await get('/v1/reconciliation/reruns');
    roles.push('security');
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 403)) throw error;
  }
  return { id: 'signed in with an API key', roles };
}

const isSecurity = (roles: string[]) => roles.includes('security') || roles.includes('admin');

export function SessionProvider({
  children,
  signIn,
}: {
  children: ReactNode;
  signIn: (props: SignInProps) => ReactNode;
}) {
  const [principal, setPrincipal] = useState<Principal | null>(null);
  const [checking, setChecking] = useState(storedCredential() !== null);
  useEffect(() => {
    if (storedCredential() === null) return;
    whoAmI()
      .then(setPrincipal)
      .catch(() => storeCredential(null))
      .finally(() => setChecking(false));
  }, []);
  if (checking) return <p className="loading">Checking the stored credential…</p>;
  if (!principal) return <>{signIn({ onSignedIn: setPrincipal })}</>;
  const session: Session = {
    principal,
    canReview: isSecurity(principal.roles),
    signOut: () => {
      storeCredential(null);
      setPrincipal(null);
    },
  };
  return <SessionContext.Provider value={session}>{children}</SessionContext.Provider>;
}

export interface SignInProps {
  onSignedIn(principal: Principal): void;
}
