import { startLedger } from './bootstrap.js';

// `npm start`: runs until SIGINT/SIGTERM, then closes transports, the store and the embedded database in order.
const ledger = await startLedger().catch((error: unknown) => {
  process.stderr.write(`audit-ledger failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
let closing = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (closing) return;
    closing = true;
    void ledger.close().then(() => process.exit(0));
  });
}
