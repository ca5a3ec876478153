import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { ERASED, UNREADABLE } from '@audit-ledger/domain';
import type { RecordedEvent } from '@audit-ledger/event-store';
import { PayloadCipher, StreamKeys } from '@audit-ledger/payload-keys';
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.js';

/** Sealed fields opened once per process: what it sealed or opened lately is not decrypted again (issue 14). */
describe('payload cipher: fields decrypted once per process', () => {
  let database: TestDatabase;
  let pool: pg.Pool;
  const master = randomBytes(32);
  let clock = 0;
  let keys: StreamKeys;

  beforeAll(async () => {
    database = await createTestDatabase();
    pool = new pg.Pool({ connectionString: database.url, max: 4 });
    await new StreamKeys(pool, master).ensureSchema();
  });
  afterEach(() => keys.close());
  afterAll(async () => {
    await pool.end();
    await database.drop();
  });

  const cipherAt = () => {
    clock = 0;
    keys = new StreamKeys(pool, master, () => clock);
    return new PayloadCipher(keys, { output: true, command: true });
  };

  async function sealedExecution(cipher: PayloadCipher, streamId: string, position: bigint): Promise<RecordedEvent> {
    const data = await cipher.seal(streamId, {
      executionId: `exec-${position}`,
      command: 'docker compose logs api',
      output: { text: 'api  | listening on :8080' },
    } as never);
    return {
      eventId: `event-${position}`,
      streamId,
      streamRevision: 1,
      globalPosition: position,
      type: 'ExecutionLogged',
      data: data as unknown as Record<string, unknown>,
      metadata: {},
      prevHash: '',
      hash: '',
      recordedAt: new Date(0),
    } as RecordedEvent;
  }

  it('given readers opening fields, when this process seals an execution and two readers open it, then no field is decrypted', async () => {
    const cipher = cipherAt();
    await cipher.openEvents([await sealedExecution(cipher, 'approval-reader', 11n)]); // a reader opens fields
    const decryptedBefore = cipher.fieldsDecrypted;
    const stored = await sealedExecution(cipher, 'approval-once', 1n);
    expect(String(stored.data['command'])).toMatch(/^enc:v1:/);
    const [first] = await cipher.openEvents([stored]);
    const [second] = await cipher.openEvents([stored]);
    expect(first!.data['command']).toBe('docker compose logs api');
    expect(second!.data).toEqual(first!.data);
    expect(cipher.fieldsDecrypted).toBe(decryptedBefore);
  });

  it('given nothing opening fields (the workers off), then what is sealed is not remembered', async () => {
    const cipher = cipherAt();
    await sealedExecution(cipher, 'approval-no-reader', 12n);
    expect(cipher['openedFields'].size).toBe(0);
  });

  it('given a field sealed by another process, then it is decrypted once however many readers open it', async () => {
    const writer = cipherAt();
    const stored = await sealedExecution(writer, 'approval-elsewhere', 2n);
    writer['keys'].close();
    const reader = cipherAt();
    for (let i = 0; i < 3; i++) {
      const [opened] = await reader.openEvents([stored]);
      expect((opened!.data['output'] as { text: string }).text).toBe('api  | listening on :8080');
    }
    expect(reader.fieldsDecrypted).toBe(2); // command and output.text, once each
  });

  it('given a key another process destroyed, then a field opened before reads as erased once the key cache runs out', async () => {
    const cipher = cipherAt();
    const stored = await sealedExecution(cipher, 'approval-erased-elsewhere', 3n);
    await cipher.openEvents([stored]);
    const other = new StreamKeys(pool, master);
    const client = await pool.connect();
    try {
      await other.destroy(client, 'approval-erased-elsewhere');
    } finally {
      client.release();
      other.close();
    }
    clock = 5_001; // the reader's trust in the key ran out (5 s): it reads the key again, destroyed
    const [opened] = await cipher.openEvents([stored]);
    expect(opened!.data['command']).toBe(ERASED);
  });

  it('given an erasure in this process, then what it opened of the stream is forgotten at once', async () => {
    const cipher = cipherAt();
    const stored = await sealedExecution(cipher, 'approval-erased-here', 4n);
    await cipher.openEvents([stored]);
    expect(cipher['openedFields'].size).toBeGreaterThan(0);
    const client = await pool.connect();
    try {
      await keys.destroy(client, 'approval-erased-here');
    } finally {
      client.release();
    }
    expect(cipher['openedFields'].size).toBe(0);
    const [opened] = await cipher.openEvents([stored]);
    expect(opened!.data['command']).toBe(ERASED);
  });

  it('given a sealed field edited behind the same key and IV, then it reads as unreadable, not as the text it had', async () => {
    const cipher = cipherAt();
    const stored = await sealedExecution(cipher, 'approval-edited', 5n);
    const sealed = String(stored.data['command']);
    const body = sealed.slice(sealed.lastIndexOf(':') + 1);
    const edited = `${sealed.slice(0, sealed.lastIndexOf(':') + 1)}${body.startsWith('A') ? 'B' : 'A'}${body.slice(1)}`;
    const [opened] = await cipher.openEvents([{ ...stored, data: { ...stored.data, command: edited } }]);
    expect(opened!.data['command']).toBe(UNREADABLE);
  });

  it('opens without waiting only what needs no key read: a key trusted here, not one unread or past its 5 s', async () => {
    const writer = cipherAt();
    const stored = await sealedExecution(writer, 'approval-trusted', 6n);
    writer['keys'].close();
    const reader = cipherAt();
    const plain = { ...stored, type: 'ApprovalGranted', data: { approvalId: 'x' } };
    expect(reader.openTrusted(plain)).toBe(plain);
    expect(reader.openTrusted(stored)).toBeUndefined(); // its key not read here yet
    const [opened] = await reader.openEvents([stored]);
    expect(reader.openTrusted(stored)!.data).toEqual(opened!.data);
    clock = 5_001;
    expect(reader.openTrusted(stored)).toBeUndefined(); // trust ran out: openEvents reads the key again
  });
  it.each(['constructor', 'toString', '__proto__', 'hasOwnProperty'])(
    'given an event whose type is the name of an object property (%s), when it is sealed and opened, then it passes unchanged',
    async (type) => {
      const cipher = cipherAt();
      const event = {
        eventId: 'event-odd',
        streamId: 'approval-odd',
        streamRevision: 0,
        globalPosition: 1n,
        type,
        data: { command: 'ls', output: { text: 'x' } },
        metadata: {},
        prevHash: '',
        hash: '',
        recordedAt: new Date(0),
      } as RecordedEvent;
      const [sealed] = await cipher.sealEvents('approval-odd', [event]);
      expect(sealed).toBe(event);
      const [opened] = await cipher.openEvents([event]);
      expect(opened).toBe(event);
    },
  );
});
