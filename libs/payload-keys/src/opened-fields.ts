/** Characters (sealed text + plaintext) the remembered fields may hold in all. */
const MAX_CHARS = 4 * 1024 * 1024;
const MAX_FIELDS = 4_096;

interface Remembered {
  streamId: string;
  place: string;
  sealed: string;
  plaintext: string;
}

/**
 * The plaintext of sealed fields this process sealed or opened lately, by place and sealed text, so the same field
 * is decrypted once per process instead of once per reader: the command path seals an execution, then the
 * reconciler and the projections each open it from the shared live feed (issue 14). A field opens to the same text
 * every time under a given key (AES-GCM with the key named in the sealed text, the place as AAD), so answering from
 * here is the same answer, and it is asked only after the key was found live in the same way a decryption needs:
 * a destroyed key still reads as `[erased]` within the key cache's bound. Bounded (oldest first out); a stream's
 * fields are dropped when its keys are forgotten (an erasure here).
 */
export class OpenedFields {
  private readonly fields = new Map<string, Remembered>();
  private chars = 0;

  /** The plaintext of `sealed` at `place`, when remembered (the very same sealed text and place, not only its IV). */
  get(place: string, sealed: string): string | undefined {
    const found = this.fields.get(ivOf(sealed));
    return found && found.sealed === sealed && found.place === place ? found.plaintext : undefined;
  }

  remember(streamId: string, place: string, sealed: string, plaintext: string): void {
    const key = ivOf(sealed);
    const size = sealed.length + plaintext.length;
    if (size > MAX_CHARS / 16) return;
    this.drop(key);
    this.fields.set(key, { streamId, place, sealed, plaintext });
    this.chars += size;
    while (this.chars > MAX_CHARS || this.fields.size > MAX_FIELDS) {
      this.drop(this.fields.keys().next().value as string);
    }
  }

  forget(streamId: string): void {
    for (const [key, field] of this.fields) if (field.streamId === streamId) this.drop(key);
  }

  get size(): number {
    return this.fields.size;
  }

  private drop(key: string): void {
    const field = this.fields.get(key);
    if (!field) return;
    this.fields.delete(key);
    this.chars -= field.sealed.length + field.plaintext.length;
  }
}

/**
 * The IV of a sealed text (`enc:v1:<keyId>:<iv>:<body>`): 16 characters, and unique per (key, place, plaintext) since
 * it is synthetic (an HMAC of them); `get` still compares the place and the whole sealed text.
 */
function ivOf(sealed: string): string {
  const bodyAt = sealed.lastIndexOf(':');
  return sealed.slice(sealed.lastIndexOf(':', bodyAt - 1) + 1, bodyAt);
}
