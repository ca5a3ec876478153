import { closestApproved, diffCommands } from '../diff';

/** The executed command with what differs from the approved one highlighted (added: marked; removed: struck). */
export function CommandDiff({ approved, executed }: { approved: string[]; executed: string }) {
  const against = closestApproved(approved, executed);
  if (against === undefined) {
    return (
      <p className="diff">
        <span className="diff-note">No command was approved (instruction only):</span> <code>{executed}</code>
      </p>
    );
  }
  const parts = diffCommands(against, executed);
  const differs = parts.some((part) => part.kind !== 'same');
  return (
    <figure className="diff" aria-label="Difference between the approved and the executed command">
      <figcaption>{differs ? 'Differs from the approved command' : 'Same as the approved command'}</figcaption>
      <div>
        <span className="diff-label">approved</span> <code>{against}</code>
      </div>
      <div>
        <span className="diff-label">executed</span>{' '}
        <code data-testid="executed-diff">
          {parts.map((part, index) =>
            part.kind === 'same' ? (
              <span key={index}>{part.text}</span>
            ) : part.kind === 'added' ? (
              <mark key={index} className="diff-added" title="not in the approved command">
                {part.text}
              </mark>
            ) : (
              <del key={index} className="diff-removed" title="approved, but not in what ran">
                {part.text}
              </del>
            ),
          )}
        </code>
      </div>
    </figure>
  );
}
