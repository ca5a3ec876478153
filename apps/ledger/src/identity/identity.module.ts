import { Module } from '@nestjs/common';
import type { LedgerConfig } from '../config/ledger.config.js';
import { LEDGER_CONFIG } from '../shared/tokens.js';
import { AccessRefusals } from './access-refusals.js';
import { ApiKeysHttpController } from './api-keys.http.controller.js';
import { AUTHENTICATOR } from '@audit-ledger/api-keys';
import { APPROVER_PROOF, approverProofOf, JWT_AUTHENTICATOR, JwtAuthenticator, oidcOptionsOf } from './jwt/index.js';
import { LedgerIdentity } from './ledger-identity.js';
import { PrincipalRateLimiter } from './rate-limit/principal-rate-limiter.js';
import { WhoamiHttpController } from './whoami.http.controller.js';

/**
 * Who calls: API keys (and JWTs when OIDC is configured), approver proofs, the refusal count and the rate limit the
 * global AccessGuard uses, and the key admin routes.
 */
@Module({
  controllers: [WhoamiHttpController, ApiKeysHttpController],
  providers: [
    {
      provide: JWT_AUTHENTICATOR,
      useFactory: (config: LedgerConfig) => {
        const oidc = oidcOptionsOf(config);
        return oidc ? new JwtAuthenticator(oidc) : null;
      },
      inject: [LEDGER_CONFIG],
    },
    {
      provide: APPROVER_PROOF,
      useFactory: (jwt: JwtAuthenticator | null, config: LedgerConfig) =>
        approverProofOf(jwt ?? undefined, config.approverAudience) ?? null,
      inject: [JWT_AUTHENTICATOR, LEDGER_CONFIG],
    },
    LedgerIdentity,
    { provide: AUTHENTICATOR, useExisting: LedgerIdentity },
    AccessRefusals,
    {
      provide: PrincipalRateLimiter,
      useFactory: (config: LedgerConfig) =>
        new PrincipalRateLimiter({ perSecond: config.rateLimitPerSecond, burst: config.rateLimitBurst }),
      inject: [LEDGER_CONFIG],
    },
  ],
  exports: [LedgerIdentity, AUTHENTICATOR, AccessRefusals, PrincipalRateLimiter, APPROVER_PROOF],
})
export class IdentityModule {}
