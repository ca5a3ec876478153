import { useState } from 'react';
import { ApiError, get, post, type Page } from '../api';
import { useSession } from '../session';
import type { Execution, Mismatch } from '../types';
import { time } from './format';

/** The stream that holds a mismatch: its approval's, else the session of its execution. */
async function streamOf(mismatch: Mismatch): Promise<string> {
  if (mismatch.approvalId) return `approval-${mismatch.approvalId}`;
  if (mismatch.sessionId) return `session-${mismatch.sessionId}`;
  if (!mismatch.executionId) throw new Error('this mismatch names neither an approval nor an execution');
  const execution = await get<Execution>(`/v1/executions/${encodeURIComponent(mismatch.executionId)}`);
  return execution.streamId;
}

/**
 * A mismatch's review: who reviewed it and how, or (security role) the form to confirm it or mark it a false
 * positive, with a note. A reader sees the state only.
 */
export function Review({ mismatch, onReviewed }: { mismatch: Mismatch; onReviewed: (updated: Mismatch) => void }) {
  const session = useSession();
  const [note, setNote] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  if (mismatch.reviewState === 'reviewed' || mismatch.resolution) {
    return (
      <p className="review-done">
        <span className={`tone tone-${mismatch.resolution ?? 'none'}`}>{mismatch.resolution?.replace('_', ' ')}</span>{' '}
        by {mismatch.reviewer} at {time(mismatch.reviewedAt)}
        {mismatch.reviewNote ? ` — “${mismatch.reviewNote}”` : ''}
      </p>
    );
  }
  if (!session.canReview) return <p className="review-open">Open (review needs the security role)</p>;
  const review = async (resolution: 'confirmed' | 'false_positive') => {
    setBusy(true);
    setError(null);
    try {
      const streamId = await streamOf(mismatch);
      const ack = await post<{ globalPosition: string }>(
        `/v1/mismatches/${encodeURIComponent(mismatch.mismatchId)}/review`,
        { streamId, resolution, ...(note.trim() ? { note: note.trim() } : {}) },
      );
      // The review as recorded (reviewer = the signed-in principal), read back once the read model has it.
      const recorded = await get<Page<Mismatch>>('/v1/mismatches', {
        ...(mismatch.executionId ? { executionId: mismatch.executionId } : { approvalId: mismatch.approvalId }),
        minPosition: ack.globalPosition,
        limit: 500,
      })
        .then((page) => page.items.find((item) => item.mismatchId === mismatch.mismatchId))
        .catch(() => undefined);
      onReviewed(
        recorded ?? {
          ...mismatch,
          reviewState: 'reviewed',
          resolution,
          reviewer: session.principal.id,
          reviewNote: note.trim() || null,
          reviewedAt: new Date().toISOString(),
        },
      );
    } catch (caught) {
      setError(caught instanceof ApiError || caught instanceof Error ? caught.message : String(caught));
    } finally {
      setBusy(false);
    }
  };
  const noteId = `note-${mismatch.mismatchId}`;
  return (
    <div className="review-form" role="group" aria-label={`Review mismatch ${mismatch.mismatchId}`}>
      <label htmlFor={noteId}>Note</label>
      <input id={noteId} value={note} onChange={(event) => setNote(event.target.value)} maxLength={4096} />
      <button type="button" disabled={busy} onClick={() => void review('confirmed')}>
        Confirm
      </button>
      <button type="button" disabled={busy} onClick={() => void review('false_positive')}>
        False positive
      </button>
      {error && (
        <span className="error" role="alert">
          {error}
        </span>
      )}
    </div>
  );
}
