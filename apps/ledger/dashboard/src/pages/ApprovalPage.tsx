import { useState } from 'react';
import { get, type Page } from '../api';
import { CommandDiff } from '../components/CommandDiff';
import { Show, useLoad } from '../components/async';
import { duration, time, tone } from '../components/format';
import { Review } from '../components/Review';
import type { Approval, Mismatch, StreamEvent } from '../types';

interface StoredOutput {
  text: string;
  truncated: boolean;
  bytes: number;
}

const PREVIEW_CHARS = 400;

function Output({ output }: { output: StoredOutput | undefined }) {
  const [full, setFull] = useState(false);
  if (!output) return null;
  const long = output.text.length > PREVIEW_CHARS;
  return (
    <div className="output">
      <pre>{full || !long ? output.text : `${output.text.slice(0, PREVIEW_CHARS)}…`}</pre>
      {long && (
        <button type="button" onClick={() => setFull(!full)} aria-expanded={full}>
          {full ? 'Show less' : 'Show full'}
        </button>
      )}
      {output.truncated && (
        <p className="hint">Stored output cut to the cap; the full output had {output.bytes} bytes.</p>
      )}
    </div>
  );
}

interface Loaded {
  approval: Approval;
  events: StreamEvent[];
  mismatches: Mismatch[];
}

/** One approval: granted (who, what, scope, expiry) → each execution → verdict with explanation and diff → review. */
export function ApprovalPage({ approvalId }: { approvalId: string }) {
  const [loaded, reload] = useLoad<Loaded>(async (signal) => {
    const id = encodeURIComponent(approvalId);
    const [approval, stream, mismatches] = await Promise.all([
      get<Approval>(`/v1/approvals/${id}`, {}, signal),
      get<{ events: StreamEvent[] }>(`/v1/streams/approval-${id}`, {}, signal),
      get<Page<Mismatch>>('/v1/mismatches', { approvalId, limit: 500, order: 'asc' }, signal),
    ]);
    return { approval, events: stream.events, mismatches: mismatches.items };
  }, approvalId);
  return (
    <section aria-labelledby="approval-title">
      <h1 id="approval-title">Approval {approvalId}</h1>
      <Show loaded={loaded}>{(value) => <Timeline {...value} onChange={reload} />}</Show>
    </section>
  );
}

function Timeline({ approval, events, mismatches, onChange }: Loaded & { onChange: () => void }) {
  const byExecution = new Map<string, StreamEvent[]>();
  for (const event of events) {
    const executionId = event.data.executionId;
    if (typeof executionId === 'string' && event.type !== 'ExecutionLogged') {
      byExecution.set(executionId, [...(byExecution.get(executionId) ?? []), event]);
    }
  }
  const mismatchOf = (mismatchId: unknown) => mismatches.find((m) => m.mismatchId === mismatchId);
  return (
    <>
      <p>
        Status <span className={tone(approval.status)}>{approval.status}</span> · risk{' '}
        <span className={tone(approval.riskLevel)}>{approval.riskLevel ?? '—'}</span> · {approval.executionCount}{' '}
        execution(s), {approval.mismatchCount} mismatch(es)
      </p>
      <ol className="timeline" aria-label="Timeline">
        {events.map((event) => {
          const data = event.data;
          switch (event.type) {
            case 'ApprovalGranted':
              return (
                <li key={event.eventId} className="step step-granted">
                  <h2>Granted</h2>
                  <p>
                    by <strong>{String(data.approvedBy)}</strong>{' '}
                    {data.approverVerified ? <span className="badge">proven</span> : null} at {time(event.recordedAt)}
                  </p>
                  <p>{String(data.instruction ?? '')}</p>
                  <p>
                    Approved commands:{' '}
                    {approval.approvedCommands.length
                      ? approval.approvedCommands.map((c) => <code key={c}>{c}</code>)
                      : 'none (instruction only)'}
                  </p>
                  <p>
                    Scope: {approval.scope ? JSON.stringify(approval.scope) : 'none'} · expires{' '}
                    {time(approval.expiresAt)}
                    {approval.maxExecutions !== null ? ` · at most ${approval.maxExecutions} run(s)` : ''}
                  </p>
                </li>
              );
            case 'ApprovalRejected':
            case 'ApprovalRevoked':
              return (
                <li key={event.eventId} className="step step-ended">
                  <h2>{event.type === 'ApprovalRejected' ? 'Rejected' : 'Revoked'}</h2>
                  <p>
                    by {String(data.by)} at {time(event.recordedAt)}: {String(data.reason ?? '')}
                  </p>
                </li>
              );
            case 'ExecutionLogged': {
              const executionId = String(data.executionId);
              const artifacts = (data.artifacts as { path: string; bytes: number }[] | undefined) ?? [];
              return (
                <li key={event.eventId} className="step step-execution">
                  <h2>Execution {executionId}</h2>
                  <p>
                    exit code {String(data.exitCode ?? '—')} · {duration(data.durationMs as number | undefined)} ·
                    worker {String(data.workerId)} · started {time(String(data.startedAt))}
                  </p>
                  <CommandDiff approved={approval.approvedCommands} executed={String(data.command)} />
                  <Output output={data.output as StoredOutput | undefined} />
                  {artifacts.length > 0 && <h3>Artifacts</h3>}
                  {artifacts.length > 0 && (
                    <ul className="artifacts" aria-label="Artifacts">
                      {artifacts.map((artifact) => (
                        <li key={artifact.path}>
                          <code>{artifact.path}</code> ({artifact.bytes} bytes)
                        </li>
                      ))}
                    </ul>
                  )}
                  {(byExecution.get(executionId) ?? []).map((verdict) => (
                    <Verdict
                      key={verdict.eventId}
                      event={verdict}
                      mismatch={mismatchOf(verdict.data.mismatchId)}
                      onChange={onChange}
                    />
                  ))}
                </li>
              );
            }
            case 'MismatchDetected':
              return data.executionId ? null : (
                <li key={event.eventId} className="step">
                  <Verdict event={event} mismatch={mismatchOf(data.mismatchId)} onChange={onChange} />
                </li>
              );
            default:
              return null;
          }
        })}
      </ol>
    </>
  );
}

function Verdict({
  event,
  mismatch,
  onChange,
}: {
  event: StreamEvent;
  mismatch: Mismatch | undefined;
  onChange: () => void;
}) {
  const data = event.data;
  if (event.type === 'ExecutionReconciled')
    return (
      <div className="verdict">
        <h3>
          Verdict <span className="tone tone-matched">matched</span>
        </h3>
        <p>{String(data.explanation ?? '')}</p>
      </div>
    );
  if (event.type === 'ReconciliationUnclear')
    return (
      <div className="verdict">
        <h3>
          Verdict <span className="tone tone-unclear">unclear</span>
        </h3>
        <p>{String(data.reason ?? '')}</p>
      </div>
    );
  if (event.type !== 'MismatchDetected') return null;
  return (
    <div className="verdict">
      <h3>
        Verdict <span className="tone tone-mismatch">mismatch</span> {String(data.kind)} ·{' '}
        <span className={`tone tone-${String(data.severity)}`}>{String(data.severity)}</span>
      </h3>
      <p>{String(data.explanation ?? '')}</p>
      <h3>Review</h3>
      {mismatch ? (
        <Review mismatch={mismatch} onReviewed={onChange} />
      ) : (
        <p className="hint">Not yet in the read model.</p>
      )}
    </div>
  );
}
