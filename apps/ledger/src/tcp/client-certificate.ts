import { ROLES, type Principal } from '@audit-ledger/domain';
import type { ExecutionContext } from '@nestjs/common';
import { TcpContext } from '@nestjs/microservices';
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { z } from 'zod';

/** One line of `LEDGER_TLS_CLIENT_PRINCIPALS_FILE`: a certificate, by subject CN or SHA-256 fingerprint. */
const CertificateEntrySchema = z
  .object({
    /** The certificate's subject common name. */
    cn: z.string().min(1).max(256).optional(),
    /** SHA-256 of the DER certificate, hex, colons and case free (`openssl x509 -noout -fingerprint -sha256`). */
    sha256: z
      .string()
      .transform((hex) => hex.replace(/:/g, '').toUpperCase())
      .pipe(z.string().regex(/^[0-9A-F]{64}$/, 'a SHA-256 fingerprint is 64 hex digits'))
      .optional(),
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/, 'letters, digits, . _ @ - (at most 128)'),
    roles: z.array(z.enum(ROLES)).min(1),
  })
  .strict()
  .refine((entry) => (entry.cn === undefined) !== (entry.sha256 === undefined), {
    message: 'give exactly one of "cn" and "sha256"',
  });

const CertificatePrincipalsSchema = z.array(CertificateEntrySchema).superRefine((entries, ctx) => {
  const seen = new Set<string>();
  for (const [index, entry] of entries.entries()) {
    const key = entry.sha256 ? `sha256 ${entry.sha256}` : `cn ${entry.cn}`;
    if (seen.has(key)) ctx.addIssue({ code: 'custom', path: [index], message: `${key} is listed twice` });
    seen.add(key);
  }
});
type CertificatePrincipalEntry = z.output<typeof CertificateEntrySchema>;

export class CertificatePrincipalsFileError extends Error {
  readonly code = 'CONFIG.INVALID';
}

/** The principal a verified client certificate stands for, given the TLS socket of the connection. */
export type CertificatePrincipalOf = (socket: Socket) => Principal | undefined;

/**
 * The principal of a connection's client certificate: only a certificate the TLS handshake verified against
 * `LEDGER_TLS_CA_FILE` counts, looked up by its SHA-256 fingerprint first, then by its subject CN. Undefined for a
 * plain TCP socket, no or an unverified certificate, or one the list does not name.
 */
function certificatePrincipalOf(socket: Socket, entries: readonly CertificatePrincipalEntry[]): Principal | undefined {
  if (!(socket instanceof TLSSocket) || !socket.authorized) return undefined;
  const certificate = socket.getPeerCertificate();
  if (!certificate || !certificate.raw) return undefined;
  const fingerprint = certificate.fingerprint256.replace(/:/g, '').toUpperCase();
  const cn = commonNameOf(certificate.subject);
  const entry =
    entries.find((one) => one.sha256 === fingerprint) ??
    (cn === undefined ? undefined : entries.find((one) => one.cn === cn));
  if (!entry) return undefined;
  return { id: `cert:${entry.name}`, kind: 'certificate', name: entry.name, roles: [...entry.roles] };
}

/** Reads and checks the principals file; the returned function maps a socket to its principal. */
export function loadCertificatePrincipals(file: string): CertificatePrincipalOf {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new CertificatePrincipalsFileError(`LEDGER_TLS_CLIENT_PRINCIPALS_FILE=${file}: ${(error as Error).message}`);
  }
  const parsed = CertificatePrincipalsSchema.safeParse(json);
  if (!parsed.success) {
    const reasons = parsed.error.issues.map((issue) => `[${issue.path.join('.')}] ${issue.message}`);
    throw new CertificatePrincipalsFileError(
      `LEDGER_TLS_CLIENT_PRINCIPALS_FILE=${file}: ${reasons.join('; ')} ` +
        '(expected a JSON list of {"cn" or "sha256", "name", "roles"})',
    );
  }
  const entries = parsed.data;
  return (socket) => certificatePrincipalOf(socket, entries);
}

/**
 * The guards' connection principal for TCP calls (the `CONNECTION_PRINCIPAL` provider): the principal of the
 * calling connection's client certificate; undefined for HTTP and NATS.
 */
export function tcpConnectionPrincipal(
  principalOf: CertificatePrincipalOf,
): (context: ExecutionContext) => Principal | undefined {
  return (context) => {
    if (context.getType() !== 'rpc') return undefined;
    const rpc = context.switchToRpc().getContext<unknown>();
    return rpc instanceof TcpContext ? principalOf(rpc.getSocketRef().socket) : undefined;
  };
}

function commonNameOf(subject: { CN?: string | string[] } | undefined): string | undefined {
  const cn = subject?.CN;
  return typeof cn === 'string' ? cn : undefined; // a subject with several CNs names no one
}
