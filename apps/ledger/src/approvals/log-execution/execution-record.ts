import {
  FieldRedactions,
  type ExecutionLoggedData,
  type FieldRedaction,
  type ParsedLogExecutionRequest,
  type Redactor,
} from '@audit-ledger/domain';
import { hmacSha256Hex, sha256Hex } from '@audit-ledger/integrity';

/**
 * Stored output: at most `capBytes` of UTF-8, cut on a character boundary, with the SHA-256 and byte length of the
 * full output so the original can still be matched. NUL characters cannot live in jsonb: they are stored as U+FFFD
 * (the digest covers the output as received). `redact` rewrites the text before it is cut; the digest and size
 * still cover the output as received (the secret never leaves the ledger's memory, its evidence does).
 */
export function capOutput(
  output: string,
  capBytes: number,
  redact: (text: string) => string = (text) => text,
): ExecutionLoggedData['output'] {
  const full = Buffer.from(output, 'utf8');
  const redacted = redact(output);
  const kept = redacted === output ? full : Buffer.from(redacted, 'utf8');
  let text = redacted;
  if (kept.length > capBytes) {
    let end = capBytes;
    while (end > 0 && (kept[end]! & 0xc0) === 0x80) end--; // do not split a multi-byte character
    text = kept.subarray(0, end).toString('utf8');
  }
  return {
    text: text.replaceAll('\u0000', '\ufffd'),
    truncated: kept.length > capBytes,
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

/**
 * The event's data, secrets redacted from the command, the output and artifact paths before anything is hashed or
 * stored, and which rules fired where (for the event's metadata).
 */
export function toExecutionRecord(
  request: ParsedLogExecutionRequest,
  options: { outputCapBytes: number; tokenSecret: string; redactor: Redactor },
): { data: ExecutionLoggedData; redactions: FieldRedaction[] } {
  const {
    token: _token,
    tokenHash: _tokenHash,
    output,
    outputDigest,
    durationMs,
    command,
    artifacts,
    ...rest
  } = request;
  const tokenHash = tokenHashOf(request, options.tokenSecret);
  const redact = new FieldRedactions(options.redactor);
  const data: ExecutionLoggedData = {
    ...rest,
    command: redact.text('command', command),
    output: {
      ...capOutput(output, options.outputCapBytes, (text) => redact.text('output', text)),
      // Sent by a gateway that redacted the output itself: the digest of what ran, not of what came.
      ...outputDigest,
    },
    artifacts: artifacts.map((artifact, index) => ({
      ...artifact,
      path: redact.text(`artifacts[${index}].path`, artifact.path),
    })),
    durationMs: durationMs ?? Math.max(0, Date.parse(request.finishedAt) - Date.parse(request.startedAt)),
    ...(tokenHash ? { tokenHash } : {}),
  };
  return { data, redactions: redact.fired };
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
