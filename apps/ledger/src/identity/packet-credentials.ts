/**
 * The credential of each TCP request packet (its top-level `auth` member), kept for the guard. The ledger's socket
 * class takes `auth` off the packet before Nest sees it (so no handler, log or error ever holds it) and files it here
 * under the packet's `data` object, which is the very object Nest hands the guard. A packet whose data is not an
 * object has nowhere to file it: it has no credential.
 */
const credentials = new WeakMap<object, string>();

/** Removes `auth` from a parsed request packet and remembers it for the packet's data. */
export function takePacketCredential(packet: Record<string, unknown>): void {
  if (!Object.hasOwn(packet, 'auth')) return;
  const { auth, data } = packet;
  delete packet.auth;
  if (typeof auth === 'string' && typeof data === 'object' && data !== null) credentials.set(data, auth);
}

/** The credential sent with the packet whose data this is, if any. */
export function packetCredentialOf(data: unknown): string | undefined {
  return typeof data === 'object' && data !== null ? credentials.get(data) : undefined;
}
