/** One function per stream category; nothing else builds stream names. */
export const approvalStreamId = (approvalId: string): string => `approval-${approvalId}`;
export const sessionStreamId = (sessionId: string): string => `session-${sessionId}`;

export const APPROVAL_STREAM_PREFIX = 'approval-';
export const SESSION_STREAM_PREFIX = 'session-';
