import type { ExecutionContext } from '@nestjs/common';
import { UnauthenticatedError } from '@audit-ledger/api-keys';
import { packetCredentialOf } from './packet-credentials.js';

export type Entrance = 'http' | 'tcp' | 'nats';

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/** Which transport a call came in on. */
export function entranceOf(context: ExecutionContext): Entrance {
  if (context.getType() === 'http') return 'http';
  const rpc = context.switchToRpc().getContext<unknown>();
  return typeof (rpc as { getHeaders?: unknown } | null)?.getHeaders === 'function' ? 'nats' : 'tcp';
}

/**
 * The credential the caller presented, undefined when none: HTTP `Authorization: Bearer <credential>`, TCP the
 * packet's `auth` member, NATS the header `authorization: Bearer <credential>` (a bare credential is accepted there,
 * NATS having no convention of its own). A header present but not of the Bearer form is refused with the reason.
 */
export function presentedCredential(context: ExecutionContext, entrance: Entrance): string | undefined {
  if (entrance === 'tcp') return packetCredentialOf(context.switchToRpc().getData<unknown>());
  const header = entrance === 'http' ? httpAuthorization(context) : natsAuthorization(context);
  if (header === undefined) return undefined;
  const bearer = BEARER.exec(header);
  if (bearer) return bearer[1];
  if (entrance === 'nats' && /^\S+$/.test(header)) return header;
  throw new UnauthenticatedError('the authorization header must be "Bearer <API key or JWT>"');
}

function httpAuthorization(context: ExecutionContext): string | undefined {
  const request = context.switchToHttp().getRequest<{ headers?: Record<string, string | string[] | undefined> }>();
  const value = request.headers?.authorization;
  return Array.isArray(value) ? value[0] : value;
}

interface NatsHeaders {
  get(name: string): string;
}

function natsAuthorization(context: ExecutionContext): string | undefined {
  const headers = context.switchToRpc().getContext<{ getHeaders(): NatsHeaders | undefined }>().getHeaders();
  const value = headers?.get('authorization') || headers?.get('Authorization');
  return value ? value : undefined;
}
