import { context, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

/** A started tracer provider, flushed and unregistered when the ledger stops. */
export interface Tracing {
  shutdown(): Promise<void>;
}

const OFF: Tracing = { shutdown: async () => undefined };

/**
 * OpenTelemetry tracing, off unless an OTLP/HTTP traces endpoint is configured (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`,
 * e.g. `http://collector:4318/v1/traces`). Registers the global provider (with the AsyncLocalStorage context manager,
 * so a span started at the transport is the parent of the handler's and the append's), batching spans to the endpoint.
 * Off, every span the ledger starts is the API's no-op span.
 */
export function startTracing(endpoint: string | undefined, serviceName = 'audit-ledger'): Tracing {
  if (!endpoint) return OFF;
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': serviceName }),
    spanProcessors: [
      new BatchSpanProcessor(new OTLPTraceExporter({ url: endpoint, timeoutMillis: 5_000 }), {
        scheduledDelayMillis: 500,
        maxQueueSize: 8_192,
      }),
    ],
  });
  provider.register();
  return {
    async shutdown() {
      await provider.shutdown().catch(() => undefined); // flushes what is batched; an unreachable collector loses it
      trace.disable();
      context.disable();
    },
  };
}

/** The configured endpoint, else the general OTLP one (`OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`), else none. */
export function tracesEndpointOf(
  configured: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  if (configured) return configured;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  return base ? `${base.replace(/\/+$/, '')}/v1/traces` : undefined;
}
