import type { Principal } from '@audit-ledger/domain';
import type { ExecutionContext } from '@nestjs/common';

/**
 * Optional provider of the principal a connection itself proves (a TLS client certificate mapped to a principal):
 * the guards use it for a call that carries no credential of its own. None by default.
 */
export const CONNECTION_PRINCIPAL = Symbol('CONNECTION_PRINCIPAL');
export type ConnectionPrincipal = (context: ExecutionContext) => Principal | undefined;
