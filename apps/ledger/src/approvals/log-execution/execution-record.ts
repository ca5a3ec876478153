import type { ExecutionLoggedData, ParsedLogExecutionRequest } from '@audit-ledger/domain';
import { hmacSha256Hex, sha256Hex } from '@audit-ledger/integrity';

/**
 * Stored output: at most `capBytes` of UTF-8, cut on a character boundary, with the SHA-256 and byte length of the
 * full output so the original can still be matched. NUL characters cannot live in jsonb: they are stored as U+FFFD
 * (the digest covers the output as received).
 */
export function capOutput(output: string, capBytes: number): ExecutionLoggedData['output'] {
  const full = Buffer.from(output, 'utf8');
  let text = output;
  if (full.length > capBytes) {
    let end = capBytes;
    while (end > 0 && (full[end]! & 0xc0) === 0x80) end--; // do not split a multi-byte character
    text = full.subarray(0, end).toString('utf8');
  }
  return {
    text: text.replaceAll('\u0000', '\ufffd'),
    truncated: full.length > capBytes,
    sha256: sha256Hex(full),
    bytes: full.length,
  };
}

/** A raw token is HMACed with the server's key; an already-HMACed one (from a client holding the key) is kept. */
export function tokenHashOf(
  request: { token?: string | undefined; tokenHash?: string | undefined },
  secret: string,
): string | undefined {
  if (request.token !== undefined) return hmacSha256Hex(secret, request.token);
  return request.tokenHash;
}

export function toExecutionRecord(
  request: ParsedLogExecutionRequest,
  options: { outputCapBytes: number; tokenSecret: string },
): ExecutionLoggedData {
  const { token: _token, tokenHash: _tokenHash, output, durationMs, ...rest } = request;
  const tokenHash = tokenHashOf(request, options.tokenSecret);
  return {
    ...rest,
    output: capOutput(output, options.outputCapBytes),
    durationMs: durationMs ?? Math.max(0, Date.parse(request.finishedAt) - Date.parse(request.startedAt)),
    ...(tokenHash ? { tokenHash } : {}),
  };
}

/**
 * What the ledger derives from an execution on receipt and a genuine retry may see differently: the stored text of
 * the output and whether it was cut (the output cap may have changed; the full output's SHA-256 and size are
 * compared), the token's HMAC (its key may have rotated; only whether a token came is compared), and `occurredAt`
 * (the receive time when the gateway sent none; the first recorded time stays).
 */
export const EXECUTION_DERIVED_PATHS: readonly string[] = [
  'output.text',
  'output.truncated',
  'tokenHash',
  'occurredAt',
];
