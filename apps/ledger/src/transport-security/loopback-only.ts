import { isIP } from 'node:net';
import type { LedgerConfig } from '../config/ledger.config.js';
import { ENVIRONMENT_VARIABLES } from '../config/ledger.config.js';

/** Binding to a non-loopback address without TLS: the ledger refuses to start. */
class PlaintextExposureError extends Error {
  readonly code = 'CONFIG.PLAINTEXT_EXPOSURE';
}

/** Whether `host` only ever reaches this machine: `localhost`, 127.0.0.0/8, `::1` (and its IPv4-mapped form). */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (bare === 'localhost') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  if (isIP(bare) === 6) return bare === '::1' || /^::ffff:127\./.test(bare) || /^0*:0*:0*:0*:0*:0*:0*:0*1$/.test(bare);
  return false;
}

/**
 * The TCP transport (when it is the transport) and the HTTP API carry credentials: on anything but loopback they need
 * TLS. Throws naming each exposed address and what to set.
 */
export function assertNoPlaintextExposure(config: LedgerConfig): void {
  if (config.tlsCertFile && config.tlsKeyFile) return;
  const exposed: string[] = [];
  if (config.transport === 'tcp' && !isLoopback(config.tcpHost)) {
    exposed.push(`the TCP transport (${ENVIRONMENT_VARIABLES.tcpHost}=${config.tcpHost})`);
  }
  if (!isLoopback(config.httpHost)) exposed.push(`the HTTP API (${ENVIRONMENT_VARIABLES.httpHost}=${config.httpHost})`);
  if (exposed.length === 0) return;
  throw new PlaintextExposureError(
    `refusing to start: ${exposed.join(' and ')} would listen beyond this machine without TLS, sending credentials ` +
      `in clear; set ${ENVIRONMENT_VARIABLES.tlsCertFile} and ${ENVIRONMENT_VARIABLES.tlsKeyFile} ` +
      `(docs/security.md, "TLS"), or bind to 127.0.0.1`,
  );
}
