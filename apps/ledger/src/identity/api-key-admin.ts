import {
  apiKeyPrincipalId,
  decidePrincipals,
  evolvePrincipals,
  initialPrincipalsState,
  parsePrincipalsEvent,
  PRINCIPALS_STREAM,
  type ApiKeySummary,
  type IssuedApiKey,
  type PrincipalsCommand,
  type PrincipalsState,
  type PrincipalsStreamEvent,
} from '@audit-ledger/domain';
import {
  handleDeciderCommand,
  readStreamOrEmpty,
  WrongExpectedVersionError,
  type EventStore,
  type NewEvent,
  type RecordedEvent,
} from '@audit-ledger/event-store';
import { randomUUID } from 'node:crypto';
import type { Clock } from '../shared/tokens.js';
import { generateApiKey, newKeyId, type NewApiKey, type ApiKeyTable } from '@audit-ledger/api-keys';

export interface KeyRequest {
  name: string;
  roles: readonly string[];
}

/**
 * Issuing, rotating and revoking API keys: read the `principals` stream, decide, append with the revision read (again
 * on a concurrent change), then apply the result to this process's key table at once. Every change is an event whose
 * actor is the admin principal (`system:bootstrap` for the first start's keys).
 */
export class ApiKeyAdmin {
  constructor(
    private readonly store: EventStore,
    private readonly table: Pick<ApiKeyTable, 'applyRecorded'>,
    private readonly clock: Clock,
  ) {}

  async issue(request: KeyRequest, actor: string): Promise<IssuedApiKey> {
    const [issued] = await this.issueAll([request], actor, 'retry');
    return issued!;
  }

  /**
   * The first start's keys, in one append that expects no `principals` stream. Undefined when another instance
   * created the stream first (it wrote the credentials; this one issues nothing).
   */
  async bootstrap(
    requests: readonly KeyRequest[],
    actor: string,
    beforeAppend?: (issued: IssuedApiKey[]) => void,
  ): Promise<IssuedApiKey[] | undefined> {
    try {
      return await this.issueAll(requests, actor, 'no_stream', beforeAppend);
    } catch (error) {
      if (error instanceof WrongExpectedVersionError) return undefined;
      throw error;
    }
  }

  async rotate(keyId: string, reason: string | undefined, actor: string): Promise<IssuedApiKey> {
    const fresh = generateApiKey();
    const { events } = await this.change(
      () => [
        {
          type: 'RotateApiKey',
          data: { keyId, newKeyId: fresh.keyId, keyHash: fresh.keyHash, ...(reason ? { reason } : {}) },
          now: this.now(),
        },
      ],
      actor,
      'retry',
    );
    return shown(events[0]!, fresh);
  }

  async revoke(keyId: string, reason: string | undefined, actor: string): Promise<void> {
    await this.change(
      () => [{ type: 'RevokeApiKey', data: { keyId, ...(reason ? { reason } : {}) }, now: this.now() }],
      actor,
      'retry',
    );
  }

  /** Every key ever issued, newest last, with who issued and revoked it: never a hash, never a key. */
  async list(): Promise<ApiKeySummary[]> {
    const summaries = new Map<string, ApiKeySummary>();
    for (const recorded of await this.read()) {
      const event = parsePrincipalsEvent(recorded.type, recorded.data);
      const actor = typeof recorded.metadata.actor === 'string' ? recorded.metadata.actor : undefined;
      if (event?.type === 'ApiKeyIssued') {
        const { keyId, name, roles, issuedAt, rotatedFrom } = event.data;
        summaries.set(keyId, {
          keyId,
          name,
          roles,
          principalId: apiKeyPrincipalId(name, keyId),
          status: 'active',
          issuedAt,
          ...(actor ? { issuedBy: actor } : {}),
          ...(rotatedFrom ? { rotatedFrom } : {}),
        });
      } else if (event?.type === 'ApiKeyRevoked') {
        const summary = summaries.get(event.data.keyId);
        if (!summary) continue;
        summaries.set(summary.keyId, {
          ...summary,
          status: 'revoked',
          revokedAt: event.data.revokedAt,
          ...(actor ? { revokedBy: actor } : {}),
          ...(event.data.reason ? { revokeReason: event.data.reason } : {}),
        });
      }
    }
    return [...summaries.values()];
  }

  private async issueAll(
    requests: readonly KeyRequest[],
    actor: string,
    expected: 'retry' | 'no_stream',
    beforeAppend?: (issued: IssuedApiKey[]) => void,
  ): Promise<IssuedApiKey[]> {
    const fresh = requests.map(() => generateApiKey(newKeyId()));
    const show = (events: PrincipalsStreamEvent[]) => events.map((event, index) => shown(event, fresh[index]!));
    const { events } = await this.change(
      () =>
        requests.map((request, index) => ({
          type: 'IssueApiKey',
          data: {
            keyId: fresh[index]!.keyId,
            name: request.name,
            roles: request.roles,
            keyHash: fresh[index]!.keyHash,
          },
          now: this.now(),
        })),
      actor,
      expected,
      beforeAppend && ((events) => beforeAppend(show(events))),
    );
    return show(events);
  }

  /** Decides the commands in order against the stream (each seeing the ones before), appends them in one go. */
  private async change(
    commands: () => PrincipalsCommand[],
    actor: string,
    expected: 'retry' | 'no_stream',
    beforeAppend?: (events: PrincipalsStreamEvent[]) => void,
  ): Promise<{ events: PrincipalsStreamEvent[] }> {
    return handleDeciderCommand(this.store, {
      streamId: PRINCIPALS_STREAM,
      ...(expected === 'no_stream' ? { recorded: [], onConflict: 'fail' as const } : {}),
      fold,
      decide: (initial) => {
        let state = initial;
        const events: PrincipalsStreamEvent[] = [];
        for (const command of commands()) {
          for (const event of decidePrincipals(command, state)) {
            events.push(event);
            state = evolvePrincipals(state, event);
          }
        }
        return events;
      },
      whenNothingDecided: () => ({ events: [] }),
      append: async (decided, expectedRevision) => {
        const events = [...decided];
        beforeAppend?.(events);
        const newEvents = events.map((event) => toNewEvent(event, actor));
        const result = await this.store.appendToStream(PRINCIPALS_STREAM, newEvents, { expectedRevision });
        this.table.applyRecorded(
          result.events.map((stored, index) => ({
            globalPosition: stored.globalPosition,
            type: newEvents[index]!.type,
            data: newEvents[index]!.data,
          })),
        );
        return { events };
      },
    });
  }

  private read(): Promise<RecordedEvent[]> {
    return readStreamOrEmpty(this.store, PRINCIPALS_STREAM);
  }

  private now(): string {
    return this.clock.now().toISOString();
  }
}

function fold(recorded: readonly RecordedEvent[]): PrincipalsState {
  let state = initialPrincipalsState();
  for (const one of recorded) {
    const event = parsePrincipalsEvent(one.type, one.data);
    if (event) state = evolvePrincipals(state, event);
  }
  return state;
}

function toNewEvent(event: PrincipalsStreamEvent, actor: string): NewEvent {
  const eventId = randomUUID();
  return {
    eventId,
    type: event.type,
    data: event.data as unknown as Record<string, unknown>,
    metadata: {
      correlationId: event.data.keyId,
      causationId: eventId,
      recordedAt: event.type === 'ApiKeyIssued' ? event.data.issuedAt : event.data.revokedAt,
      actor,
      schemaVersion: 1,
    },
  };
}

function shown(event: PrincipalsStreamEvent, fresh: NewApiKey): IssuedApiKey {
  if (event.type !== 'ApiKeyIssued' || event.data.keyId !== fresh.keyId) {
    throw new Error(`expected the ApiKeyIssued of ${fresh.keyId}, decided ${event.type}`);
  }
  const { keyId, name, roles, issuedAt, rotatedFrom } = event.data;
  return {
    keyId,
    name,
    roles,
    principalId: apiKeyPrincipalId(name, keyId),
    issuedAt,
    ...(rotatedFrom ? { rotatedFrom } : {}),
    key: fresh.key,
  };
}
