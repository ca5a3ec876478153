import { runUntilStopped } from './run-until-stopped.js';

// `npm start`: runs until SIGINT/SIGTERM, then closes transports, the store and the embedded database in order.
try {
  await runUntilStopped();
  process.exit(0);
} catch (error) {
  process.stderr.write(`audit-ledger failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
