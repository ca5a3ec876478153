import { readFileSync } from 'node:fs';

/** A V8 `.cpuprofile` (what `node --cpu-prof` writes). */
interface CpuProfile {
  /** µs on the monotonic clock (`process.hrtime`), like each sample's time. */
  startTime: number;
  nodes: { id: number; callFrame: { functionName: string; url: string }; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
}

/**
 * Where the command path's time goes, by the first frame (from the innermost out) that belongs to one of these. A
 * socket write counts for whoever wrote (the pg driver, or the TCP transport answering), a native crypto call for the
 * function of ours that called it.
 */
const CATEGORIES: readonly (readonly [string, RegExp])[] = [
  ['startup (module loading, bootstrap)', /node:internal\/modules|\/bootstrap\.js|\/openapi\/|migrat/],
  ['redaction', /\/redaction\//],
  ['canonicalisation (canonical JSON, fidelity checks)', /canonical-json|json-fidelity|append-input\.js/],
  ['hashing (hash chain, HMAC, digests)', /\/digest\.js|hash-chain|redaction-key|event-ids\.js/],
  ['validation (request schemas)', /request-validation|\/zod\//],
  ['authentication (API key, guard, rate limit)', /\/identity\//],
  ['logging', /\/pino\/|\/logging\//],
  ['append (event store, pg driver)', /\/event-store\/dist\/|\/node_modules\/pg(-protocol|-pool)?\//],
  ['command handling (handler, decider, CQRS)', /\/approvals\/|@nestjs\/cqrs|\/handle-stream-command|command-ack/],
  ['transport (TCP framing, Nest microservices, rxjs)', /\/tcp\/|@nestjs\/|\/rxjs\//],
];
const SPECIAL = new Map([
  ['(garbage collector)', 'garbage collection'],
  ['(program)', 'V8/native, no JS frame'],
]);

export interface CpuBreakdown {
  /** CPU ms (samples not idle) by category. */
  byCategory: Map<string, number>;
  busyMs: number;
}

/** The samples between `fromUs` and `toUs` (µs of `process.hrtime.bigint()`, the same clock in every process). */
export function cpuBreakdown(file: string, fromUs: number, toUs: number): CpuBreakdown {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const category = new Map<number, string>();
  const categoryOf = (id: number): string => {
    const known = category.get(id);
    if (known) return known;
    const node = nodes.get(id)!;
    const { functionName, url } = node.callFrame;
    const found =
      SPECIAL.get(functionName) ??
      CATEGORIES.find(([, pattern]) => pattern.test(url))?.[0] ??
      (parent.has(id) ? categoryOf(parent.get(id)!) : 'other (node internals, event loop)');
    category.set(id, found);
    return found;
  };
  const byCategory = new Map<string, number>();
  let busyMs = 0;
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (at < fromUs || at > toUs || nodes.get(id)!.callFrame.functionName === '(idle)') return;
    const ms = delta / 1000;
    busyMs += ms;
    const name = categoryOf(id);
    byCategory.set(name, (byCategory.get(name) ?? 0) + ms);
  });
  return { byCategory, busyMs };
}
