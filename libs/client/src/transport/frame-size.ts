import { randomStringGenerator } from '@nestjs/common/utils/random-string-generator.util.js';
import type { FieldIssue } from '../errors.js';

/** The ledger's default `LEDGER_TCP_MAX_FRAME_BYTES` (48 MiB): the largest TCP frame it reads. */
export const DEFAULT_MAX_FRAME_BYTES = 48 * 1024 * 1024;

/** Nest's TCP client gives each packet an id of this generator (21 URL-safe ASCII characters). */
const PACKET_ID_PLACEHOLDER = randomStringGenerator();

/**
 * Bytes of the frame Nest's TCP client writes for this command: the UTF-8 JSON of `{ pattern, data, id }` (and `auth`
 * when the client presents a credential), counted as the ledger counts it (its body bytes; the length prefix
 * announces UTF-16 code units, never more than those bytes).
 */
export function tcpFrameBytes(pattern: string, payload: unknown, credential?: string): number {
  const packet = {
    pattern,
    data: payload,
    id: PACKET_ID_PLACEHOLDER,
    ...(credential === undefined ? {} : { auth: credential }),
  };
  return Buffer.byteLength(JSON.stringify(packet), 'utf8');
}

/** Why a command cannot go in one frame, or undefined when it fits. */
export function frameSizeIssue(
  pattern: string,
  payload: unknown,
  maxFrameBytes: number,
  credential?: string,
): FieldIssue | undefined {
  const bytes = tcpFrameBytes(pattern, payload, credential);
  if (bytes <= maxFrameBytes) return undefined;
  return {
    path: '',
    message:
      `the command is ${bytes} bytes as a TCP frame, over the ledger's maximum frame size of ${maxFrameBytes} bytes ` +
      '(maxFrameBytes, the ledger’s LEDGER_TCP_MAX_FRAME_BYTES): the ledger would close the connection on it',
  };
}
