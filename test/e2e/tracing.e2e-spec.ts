import { MESSAGE_PATTERNS } from '@audit-ledger/domain';
import { anApproval, anExecution } from '../support/fixtures.js';
import { startLedgerUnderTest, type LedgerUnderTest } from '../support/ledger-app.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.js';
import { eventually } from '../support/eventually.js';

const SERVER = 2; // OTLP SpanKind SERVER

describe('traces (OpenTelemetry, OTLP/HTTP): transport → handler → durable append, linked to the reconciliation', () => {
  let receiver: OtlpReceiver;
  let t: LedgerUnderTest;
  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    t = await startLedgerUnderTest({
      otlpTracesEndpoint: receiver.url,
      checkpointsEnabled: false,
      reconciliationEnabled: true,
    });
  });
  afterAll(async () => {
    await t?.stop();
    await receiver?.close();
  });

  const childOf = (parent: ReceivedSpan, name: string) =>
    receiver.spans.find((span) => span.parentSpanId === parent.spanId && span.name === name);

  it('given tracing configured, when a gateway grants over TCP and logs a mismatching execution, then one trace per command reaches the receiver and the verdict links to the append', async () => {
    const approval = anApproval();
    await t.send(MESSAGE_PATTERNS.grantApproval, approval);
    const execution = anExecution({ approvalId: approval.approvalId, command: 'docker compose down -v' });
    const ack = await t.send<{ eventId: string }>(MESSAGE_PATTERNS.logExecution, execution);

    const chain = await eventually(() => {
      const root = receiver.spans.find(
        (span) =>
          span.name === `tcp ${MESSAGE_PATTERNS.logExecution}` &&
          receiver.spans.some(
            (s) =>
              s.parentSpanId === span.spanId && s.attributes['ledger.stream_id'] === `approval-${approval.approvalId}`,
          ),
      );
      const command = root && childOf(root, 'command LogExecution');
      const append = command && childOf(command, 'eventstore.append');
      const reconcile = receiver.spans.find(
        (span) =>
          span.name === 'reconcile' &&
          (span.attributes['ledger.event_ids'] as string[] | undefined)?.includes(ack.eventId),
      );
      return root && command && append && reconcile ? { root, command, append, reconcile } : undefined;
    }, 20_000);

    expect(chain.root).toMatchObject({
      kind: SERVER,
      service: 'audit-ledger',
      attributes: { 'ledger.transport': 'tcp' },
    });
    expect(new Set([chain.root.traceId, chain.command.traceId, chain.append.traceId]).size).toBe(1);
    expect(chain.command.attributes).toMatchObject({ 'ledger.correlation_id': approval.approvalId });
    expect(chain.append.attributes).toMatchObject({ 'ledger.events': 1 });
    expect(chain.reconcile.links).toContainEqual({ traceId: chain.append.traceId, spanId: chain.append.spanId });
    expect(chain.reconcile.attributes['ledger.verdicts']).toEqual(['MismatchDetected']);

    const grant = receiver.spans.find((span) => span.name === `tcp ${MESSAGE_PATTERNS.grantApproval}`);
    expect(grant && childOf(grant, 'command GrantApproval')).toBeDefined();
  });

  it('given an HTTP command, then its root span is the route', async () => {
    const { status } = await t.http('POST', '/v1/approvals', anApproval());
    expect(status).toBe(201);
    const root = await eventually(() => receiver.spans.find((span) => span.name === 'HTTP POST /v1/approvals'), 20_000);
    expect(childOf(root, 'command GrantApproval')).toBeDefined();
  });
});
