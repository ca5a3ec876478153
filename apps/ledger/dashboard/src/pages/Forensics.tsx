import { useState, type FormEvent } from 'react';
import { ApiError, download, get, post } from '../api';
import { NotAvailable } from '../components/async';
import { time, tone } from '../components/format';
import { useRange } from '../range';
import type { Replay } from '../types';

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));
const streamIdOf = (value: string) =>
  /^(approval|session|checkpoints)-|^checkpoints$/.test(value) ? value : `approval-${value}`;

/** Forensics (security role): replay a stream as of a time, run a verification, download evidence and exports. */
export function ForensicsPage() {
  return (
    <section aria-labelledby="forensics-title">
      <h1 id="forensics-title">Forensics</h1>
      <ReplayPanel />
      <VerifyPanel />
      <DownloadsPanel />
    </section>
  );
}

function ReplayPanel() {
  const [target, setTarget] = useState('');
  const [asOf, setAsOf] = useState('');
  const [by, setBy] = useState('recorded');
  const [replay, setReplay] = useState<Replay | null>(null);
  const [error, setError] = useState<string | null>(null);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    setReplay(null);
    try {
      const streamId = streamIdOf(target.trim());
      const params = asOf ? { asOf: new Date(asOf).toISOString(), ...(by === 'occurred' ? { by } : {}) } : {};
      setReplay(await get<Replay>(`/v1/streams/${encodeURIComponent(streamId)}/events`, params));
    } catch (caught) {
      setError(message(caught));
    }
  };
  return (
    <div className="panel" role="group" aria-labelledby="replay-title">
      <h2 id="replay-title">Replay as of a time</h2>
      <form className="filters" onSubmit={(event) => void submit(event)}>
        <label>
          Approval or stream id
          <input name="stream" value={target} onChange={(event) => setTarget(event.target.value)} required />
        </label>
        <label>
          As of (local time)
          <input
            name="asOf"
            type="datetime-local"
            step="1"
            value={asOf}
            onChange={(event) => setAsOf(event.target.value)}
          />
        </label>
        <label>
          By
          <select name="by" value={by} onChange={(event) => setBy(event.target.value)}>
            <option value="recorded">when recorded</option>
            <option value="occurred">when it happened</option>
          </select>
        </label>
        <button type="submit">Replay</button>
      </form>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {replay && (
        <>
          <p aria-live="polite">
            {replay.eventCount} event(s) of {replay.streamId} · chain{' '}
            <span className={tone(replay.chainIntact ? 'ok' : 'mismatch')}>
              {replay.chainIntact ? 'intact' : `broken at ${replay.firstBrokenPosition}`}
            </span>{' '}
            · state {replay.state.status}
          </p>
          <div className="table-wrap" tabIndex={0} role="region" aria-label="Replayed events">
            <table>
              <thead>
                <tr>
                  <th scope="col">Position</th>
                  <th scope="col">Revision</th>
                  <th scope="col">Type</th>
                  <th scope="col">Recorded</th>
                  <th scope="col">Happened</th>
                  <th scope="col">Hash</th>
                </tr>
              </thead>
              <tbody>
                {replay.events.map((event) => (
                  <tr key={event.eventId}>
                    <td>{event.globalPosition}</td>
                    <td>{event.streamRevision}</td>
                    <td>{event.type}</td>
                    <td>{time(event.recordedAt)}</td>
                    <td>{time(event.occurredAt)}</td>
                    <td>
                      <span className={tone(event.hashStatus)} title={event.hash}>
                        {event.hashStatus}
                      </span>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </div>
  );
}

function VerifyPanel() {
  const [result, setResult] = useState<{ source: string; body: unknown } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const run = async () => {
    setBusy(true);
    setError(null);
    try {
      setResult({ source: 'verification run', body: await post('/v1/integrity/verify', {}) });
    } catch (caught) {
      if (caught instanceof ApiError && caught.status === 404) {
        // A ledger without the route: the re-verification of its last checkpoint.
        try {
          setResult({
            source: 'last checkpoint, re-verified (a full run is not available on this ledger)',
            body: await get('/v1/integrity'),
          });
        } catch (again) {
          setError(message(again));
        }
      } else setError(message(caught));
    } finally {
      setBusy(false);
    }
  };
  const ok = (result?.body as { ok?: boolean; verification?: { ok?: boolean } } | undefined) ?? {};
  const verdict = ok.ok ?? ok.verification?.ok;
  return (
    <div className="panel" role="group" aria-labelledby="verify-title">
      <h2 id="verify-title">Verification</h2>
      <button type="button" onClick={() => void run()} disabled={busy}>
        {busy ? 'Verifying…' : 'Run verification'}
      </button>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {result && (
        <div aria-live="polite">
          <p>
            Result ({result.source}):{' '}
            <span className={tone(verdict === false ? 'mismatch' : verdict === true ? 'ok' : 'none')}>
              {verdict === undefined ? 'see details' : verdict ? 'ok' : 'FAILED'}
            </span>
          </p>
          <details>
            <summary>Details</summary>
            <pre>{JSON.stringify(result.body, null, 2)}</pre>
          </details>
        </div>
      )}
    </div>
  );
}

function DownloadsPanel() {
  const range = useRange();
  const [approvalId, setApprovalId] = useState('');
  const [status, setStatus] = useState<string | null>(null);
  const [unavailable, setUnavailable] = useState<string[]>([]);
  const fetchFile = async (what: string, run: () => Promise<string>) => {
    setStatus(null);
    try {
      setStatus(`Downloaded ${await run()}`);
    } catch (caught) {
      if (caught instanceof ApiError && caught.status === 404 && what !== 'evidence bundle')
        setUnavailable((list) => [...list, what]);
      else setStatus(`${what}: ${message(caught)}`);
    }
  };
  return (
    <div className="panel" role="group" aria-labelledby="downloads-title">
      <h2 id="downloads-title">Evidence and exports</h2>
      <form
        className="filters"
        onSubmit={(event) => {
          event.preventDefault();
          void fetchFile('evidence bundle', () =>
            download('/v1/evidence', { approvalId: approvalId.trim() }, `evidence-${approvalId.trim()}.json`),
          );
        }}
      >
        <label>
          Approval id
          <input
            name="evidenceApproval"
            value={approvalId}
            onChange={(event) => setApprovalId(event.target.value)}
            required
          />
        </label>
        <button type="submit">Download evidence bundle</button>
      </form>
      <p>
        Exports of the current range ({time(range.from)} to {time(range.to)}):
      </p>
      <div className="exports">
        {(['executions', 'approvals', 'mismatches'] as const).map((list) => (
          <div key={list} role="group" aria-label={`Export ${list}`}>
            <span className="export-name">{list}</span>
            {unavailable.includes(list) ? (
              <NotAvailable />
            ) : (
              (['csv', 'json', 'jsonl'] as const).map((format) => (
                <button
                  key={format}
                  type="button"
                  onClick={() =>
                    void fetchFile(list, () =>
                      download(`/v1/${list}/export`, { format, from: range.from, to: range.to }, `${list}.${format}`),
                    )
                  }
                >
                  {list} {format.toUpperCase()}
                </button>
              ))
            )}
          </div>
        ))}
      </div>
      {status && (
        <p role="status" aria-live="polite">
          {status}
        </p>
      )}
    </div>
  );
}
