import { holdsAnyRole, LedgerError, type Principal } from '@audit-ledger/domain';
import { Inject, Injectable, Optional, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ACCESS_METADATA, attachPrincipal, QUERY_CREDENTIAL_METADATA, type Access } from './access.js';
import { AccessRefusals } from './access-refusals.js';
import { AUTHENTICATOR, ForbiddenError, UnauthenticatedError, type Authenticator } from '@audit-ledger/api-keys';
import { CONNECTION_PRINCIPAL, type ConnectionPrincipal } from './connection-principal.js';
import { entranceOf, presentedCredential, type Entrance } from './presented-credential.js';
import { PrincipalRateLimiter, RateLimitedError } from './rate-limit/principal-rate-limiter.js';

/** A route or message pattern that declares neither `@Allow(...)` nor `@Public()`: a bug, refused (500). */
export class UndeclaredAccessError extends LedgerError {
  readonly code = 'AUTH.UNDECLARED_ACCESS';
}

const HOW_TO_AUTHENTICATE: Record<Entrance, string> = {
  http: 'send "Authorization: Bearer <API key or JWT>"',
  tcp: 'send the credential as the packet\'s "auth" member',
  nats: 'send the header "authorization: Bearer <API key or JWT>"',
};

/**
 * The one gate of every entrance (APP_GUARD; the TCP and NATS servers inherit it): reads the access declared next to
 * the route or pattern, authenticates the presented credential (or the connection's own principal), checks the role
 * and attaches the principal to the call. Guards run before pipes, interceptors and handlers, so a refused call is
 * neither validated, audited as a read nor handled: it changes nothing but the refusal count and its (rate-limited)
 * record.
 */
@Injectable()
export class AccessGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(AUTHENTICATOR) private readonly authenticator: Authenticator,
    private readonly refusals: AccessRefusals,
    private readonly rateLimiter: PrincipalRateLimiter,
    @Optional() @Inject(CONNECTION_PRINCIPAL) private readonly connectionPrincipal?: ConnectionPrincipal | null,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const entrance = entranceOf(context);
    const access = this.reflector.getAllAndOverride<Access | undefined>(ACCESS_METADATA, [
      context.getHandler(),
      context.getClass(),
    ]);
    const target = describeTarget(context, entrance);
    if (!access) throw new UndeclaredAccessError(`${target} declares no access (@Allow or @Public): refused`);
    if ('public' in access) return true;
    try {
      const principal = await this.authenticate(context, entrance);
      if (!holdsAnyRole(principal.roles, access.roles)) {
        throw new ForbiddenError(
          `${principal.id} (roles: ${principal.roles.join(', ') || 'none'}) may not call ${target}: ` +
            `it requires the role ${access.roles.join(' or ')}`,
        );
      }
      // Per principal: one noisy or compromised caller is slowed down, the others are not.
      this.rateLimiter.take(principal.id);
      attachPrincipal(context, principal);
      return true;
    } catch (error) {
      if (
        error instanceof UnauthenticatedError ||
        error instanceof ForbiddenError ||
        error instanceof RateLimitedError
      ) {
        this.refusals.refused({ code: error.code, entrance, target, reason: error.message });
      }
      throw error;
    }
  }

  private async authenticate(context: ExecutionContext, entrance: Entrance): Promise<Principal> {
    const credential = presentedCredential(context, entrance) ?? this.queryCredential(context, entrance);
    if (credential !== undefined) return this.authenticator.authenticate(credential);
    const principal = this.connectionPrincipal?.(context);
    if (principal) return principal;
    throw new UnauthenticatedError(`no credential: ${HOW_TO_AUTHENTICATE[entrance]}`);
  }

  /** `?access_token=` of a route that accepts it (`AcceptQueryCredential`), when no header carried one. */
  private queryCredential(context: ExecutionContext, entrance: Entrance): string | undefined {
    if (entrance !== 'http') return undefined;
    if (!this.reflector.get<boolean | undefined>(QUERY_CREDENTIAL_METADATA, context.getHandler())) return undefined;
    const value = context.switchToHttp().getRequest<{ query?: Record<string, unknown> }>().query?.access_token;
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || value.length === 0 || value.length > 8192) {
      throw new UnauthenticatedError('access_token must be given once, as a credential (API key or JWT)');
    }
    return value;
  }
}

/** `GET /v1/streams/:streamId` or the message pattern. */
export function describeTarget(context: ExecutionContext, entrance: Entrance): string {
  if (entrance === 'http') {
    const request = context
      .switchToHttp()
      .getRequest<{ method?: string; url?: string; routeOptions?: { url?: string } }>();
    return `${request.method ?? '?'} ${request.routeOptions?.url ?? (request.url ?? '').split('?')[0]}`;
  }
  const rpc = context.switchToRpc().getContext<{ getPattern?: () => string; getSubject?: () => string }>();
  return `message ${rpc.getPattern?.() ?? rpc.getSubject?.() ?? '?'}`;
}
