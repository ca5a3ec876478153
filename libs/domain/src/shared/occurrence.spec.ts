import { ClockSkewError, decisionTiming, occurredAtToRecord, RequestedAfterDecisionError } from './occurrence.js';

const receivedAt = '2026-11-23T10:00:00.000Z';
const skew = 300_000;

describe('occurrence times of commands', () => {
  it('given no occurredAt, then the receive time is recorded', () => {
    expect(occurredAtToRecord(undefined, receivedAt, skew)).toBe(receivedAt);
  });

  it('given an occurredAt in the past, however far (a spooled command), then it is kept', () => {
    expect(occurredAtToRecord('2026-11-20T08:00:00.000Z', receivedAt, skew)).toBe('2026-11-20T08:00:00.000Z');
  });

  it('given an occurredAt ahead of the ledger within the bound, then it is kept; beyond it, VALIDATION.CLOCK_SKEW', () => {
    expect(occurredAtToRecord('2026-11-23T10:05:00.000Z', receivedAt, skew)).toBe('2026-11-23T10:05:00.000Z');
    const refused = () => occurredAtToRecord('2026-11-23T10:05:00.001Z', receivedAt, skew);
    expect(refused).toThrow(ClockSkewError);
    expect(refused).toThrow(/occurredAt 2026-11-23T10:05:00.001Z is 300001 ms ahead .*\(LEDGER_MAX_CLOCK_SKEW_MS\)/);
  });

  it('given a requestedAt, then it is kept when not after the decision, refused after it or beyond the skew', () => {
    expect(decisionTiming({ requestedAt: '2026-11-23T09:58:00.000Z' }, receivedAt, skew)).toEqual({
      occurredAt: receivedAt,
      requestedAt: '2026-11-23T09:58:00.000Z',
    });
    expect(() =>
      decisionTiming(
        { occurredAt: '2026-11-23T09:57:00.000Z', requestedAt: '2026-11-23T09:58:00.000Z' },
        receivedAt,
        skew,
      ),
    ).toThrow(RequestedAfterDecisionError);
    expect(() =>
      decisionTiming(
        { occurredAt: '2026-11-23T10:07:00.000Z', requestedAt: '2026-11-23T10:06:00.000Z' },
        receivedAt,
        skew,
      ),
    ).toThrow(ClockSkewError);
  });
});
