import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { ApprovalPage } from './pages/ApprovalPage';
import { ApprovalsPage } from './pages/Approvals';
import { ExecutionsPage } from './pages/Executions';
import { ForensicsPage } from './pages/Forensics';
import { MismatchesPage } from './pages/Mismatches';
import { OverviewPage } from './pages/Overview';
import { SessionPage, SessionsPage } from './pages/Sessions';
import { SignIn } from './pages/SignIn';
import { RangePicker, RangeProvider } from './range';
import { href, useRoute } from './router';
import { SessionProvider, useSession } from './session';
import './styles.css';

const NAV = [
  { path: 'overview', label: 'Overview' },
  { path: 'approvals', label: 'Approvals' },
  { path: 'executions', label: 'Executions' },
  { path: 'sessions', label: 'Sessions' },
  { path: 'mismatches', label: 'Mismatches' },
  { path: 'forensics', label: 'Forensics', security: true },
];

function Page({ route }: { route: string[] }) {
  const session = useSession();
  const [page = 'overview', id] = route;
  switch (page) {
    case 'approvals':
      return id ? <ApprovalPage approvalId={id} /> : <ApprovalsPage />;
    case 'executions':
      return <ExecutionsPage />;
    case 'sessions':
      return id ? <SessionPage sessionId={id} /> : <SessionsPage />;
    case 'mismatches':
      return <MismatchesPage />;
    case 'forensics':
      return session.canReview ? <ForensicsPage /> : <p role="alert">Forensics needs the security role.</p>;
    default:
      return <OverviewPage />;
  }
}

function Shell() {
  const route = useRoute();
  const session = useSession();
  const current = route[0] ?? 'overview';
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">audit-ledger</span>
        <nav aria-label="Pages">
          <ul>
            {NAV.filter((item) => !item.security || session.canReview).map((item) => (
              <li key={item.path}>
                <a href={href(item.path)} aria-current={current === item.path ? 'page' : undefined}>
                  {item.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <RangePicker />
        <span className="who">
          {session.principal.name ?? session.principal.id} ({session.principal.roles.join(', ')}){' '}
          <button type="button" onClick={session.signOut}>
            Sign out
          </button>
        </span>
      </header>
      <main id="main" tabIndex={-1}>
        <Page key={route.join('/')} route={route} />
      </main>
    </>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <SessionProvider signIn={(props) => <SignIn {...props} />}>
      <RangeProvider>
        <Shell />
      </RangeProvider>
    </SessionProvider>
  </StrictMode>,
);
