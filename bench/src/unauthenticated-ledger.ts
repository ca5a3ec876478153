// Bench only: the ledger as `npm start` runs it, except that every call without a credential is taken as one fixed
// principal holding every role (through the guards' connection-principal hook, as a TLS client certificate would be).
// The guard still reads each route's declaration and checks the role; what is left out is exactly the per-message
// authentication (the API key's parse, hash and table lookup, the packet's `auth` member). Never shipped as a command.
import type { Principal } from '@audit-ledger/domain';
import { runUntilStopped } from '@audit-ledger/ledger';

const BENCH_PRINCIPAL: Principal = {
  id: 'bench:unauthenticated',
  kind: 'certificate',
  name: 'bench',
  roles: ['gateway', 'reader', 'security', 'admin'],
};

try {
  await runUntilStopped({}, undefined, { connectionPrincipal: () => BENCH_PRINCIPAL });
  process.exit(0);
} catch (error) {
  process.stderr.write(`bench ledger failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
