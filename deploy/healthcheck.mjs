// Container health check: GET /health/live on the ledger's own HTTP port. The ledger speaks HTTPS whenever it listens
// beyond loopback, with a certificate for its public name, so this loopback probe does not check the name.
import { request as https } from 'node:https';
import { request as http } from 'node:http';

const tls = Boolean(process.env.LEDGER_TLS_CERT_FILE && process.env.LEDGER_TLS_KEY_FILE);
const port = Number(process.env.LEDGER_HTTP_PORT ?? 8080);
const send = tls ? https : http;
const req = send(
  { host: '127.0.0.1', port, path: '/health/live', method: 'GET', timeout: 4000, rejectUnauthorized: false },
  (res) => {
    res.resume();
    process.exit(res.statusCode === 200 ? 0 : 1);
  },
);
req.on('timeout', () => req.destroy(new Error('timeout')));
req.on('error', () => process.exit(1));
req.end();
