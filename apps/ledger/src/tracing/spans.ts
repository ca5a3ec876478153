import {
  context,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Link,
  type Span,
  type SpanContext,
} from '@opentelemetry/api';

const TRACER_NAME = 'audit-ledger';

/** Runs `work` inside an active span named `name`; the span records an exception and ends when `work` settles. */
export async function inSpan<T>(
  name: string,
  attributes: Attributes,
  work: (span: Span) => Promise<T>,
  options: { links?: Link[]; kind?: SpanKind } = {},
): Promise<T> {
  return trace.getTracer(TRACER_NAME).startActiveSpan(name, { attributes, ...options }, async (span) => {
    try {
      return await work(span);
    } catch (error) {
      failed(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

export function failed(span: Span, error: unknown): void {
  span.recordException(error instanceof Error ? error : String(error));
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
}

export function startSpan(name: string, attributes: Attributes, kind: SpanKind): Span {
  return trace.getTracer(TRACER_NAME).startSpan(name, { attributes, kind });
}

export function withSpan<T>(span: Span, work: () => T): T {
  return context.with(trace.setSpan(context.active(), span), work);
}

/**
 * The span that appended each recent event, by event id, so the work an event causes later (reconciliation,
 * projections: other traces, started by the store's subscription) links back to the command's trace. Bounded: the
 * oldest entries go first; in another process (scale-out) there is no link, but the spans still carry the event and
 * correlation ids to join on.
 */
const MAX_REMEMBERED = 10_000;
const appendedBy = new Map<string, SpanContext>();

export function rememberAppend(eventIds: readonly string[]): void {
  const span = trace.getActiveSpan();
  if (!span?.isRecording()) return;
  const spanContext = span.spanContext();
  for (const eventId of eventIds) {
    appendedBy.delete(eventId);
    appendedBy.set(eventId, spanContext);
  }
  for (const oldest of appendedBy.keys()) {
    if (appendedBy.size <= MAX_REMEMBERED) break;
    appendedBy.delete(oldest);
  }
}

/** Links to the spans that appended these events (those still remembered), at most `max`. */
export function linksToAppends(eventIds: readonly string[], max = 128): Link[] {
  const links: Link[] = [];
  for (const eventId of eventIds) {
    const spanContext = appendedBy.get(eventId);
    if (spanContext) links.push({ context: spanContext, attributes: { 'ledger.event_id': eventId } });
    if (links.length >= max) break;
  }
  return links;
}

export { SpanKind };
