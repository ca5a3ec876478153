import { executionEventId, legacyExecutionEventId } from './event-ids.js';

describe('execution event ids', () => {
  it('derives the event id of an execution from its execution id alone, whatever stream it lands in', () => {
    expect(executionEventId('E-19')).toBe(executionEventId('E-19'));
    expect(executionEventId('E-19')).not.toBe(executionEventId('E-20'));
    expect(executionEventId('E-19')).not.toBe(legacyExecutionEventId('approval-A1', 'E-19'));
  });

  it('keeps the older, stream-dependent formula exactly: executions stored with it are found by it', () => {
    // pinned: the id ledgers before the change gave execution E-19 of approval A1
    expect(legacyExecutionEventId('approval-A1', 'E-19')).toBe('4c7c8184-77ca-858a-bfba-0a7c1391bb18');
    expect(legacyExecutionEventId('session-S1', 'E-19')).not.toBe(legacyExecutionEventId('approval-A1', 'E-19'));
  });
});
