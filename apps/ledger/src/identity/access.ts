import type { Principal, Role } from '@audit-ledger/domain';
import { applyDecorators, createParamDecorator, SetMetadata, type ExecutionContext } from '@nestjs/common';
import { ApiExtension } from '@nestjs/swagger';
import { UnauthenticatedError } from '@audit-ledger/api-keys';

/**
 * Who may call a route or message pattern, declared next to it (docs/security.md). Every route and pattern declares
 * one or the other; the guards refuse whatever declares neither, and the access matrix test fails on it.
 */
export type Access = { readonly public: true } | { readonly roles: readonly Role[] };

export const ACCESS_METADATA = 'audit-ledger:access';

/** Callable by a principal holding any of these roles (a role includes those it implies: security reads). */
export const Allow = (...roles: [Role, ...Role[]]) =>
  applyDecorators(SetMetadata(ACCESS_METADATA, { roles } satisfies Access), ApiExtension('x-roles', roles));

export const QUERY_CREDENTIAL_METADATA = 'audit-ledger:query-credential';

/**
 * The route also takes its credential as `?access_token=<credential>` when no Authorization header is sent: only for
 * server-sent event streams, which a browser's EventSource opens without headers (docs/security.md). The parameter is
 * never recorded (the audit of reads drops it).
 */
export const AcceptQueryCredential = () => SetMetadata(QUERY_CREDENTIAL_METADATA, true);

/** Callable without a credential: only probes that expose no audit data (health). */
export const Public = () =>
  applyDecorators(SetMetadata(ACCESS_METADATA, { public: true } satisfies Access), ApiExtension('x-public', true));

/**
 * The principal the guards authenticated for this request or message. Kept beside the request (HTTP) or the message's
 * transport context (TCP, NATS), both of which live exactly as long as the call.
 */
const principals = new WeakMap<object, Principal>();

function callKey(context: ExecutionContext): object {
  const key: unknown =
    context.getType() === 'http' ? context.switchToHttp().getRequest() : context.switchToRpc().getContext();
  if (typeof key !== 'object' || key === null) throw new Error('no request or message context to hold a principal');
  return key;
}

export function attachPrincipal(context: ExecutionContext, principal: Principal): void {
  principals.set(callKey(context), principal);
}

export function principalOf(context: ExecutionContext): Principal | undefined {
  return principals.get(callKey(context));
}

/** Handler parameter: the authenticated principal (refuses when a route without a principal asks for one). */
export const CurrentPrincipal = createParamDecorator((_data: unknown, context: ExecutionContext): Principal => {
  const principal = principalOf(context);
  if (!principal) throw new UnauthenticatedError('this call has no authenticated principal');
  return principal;
});
