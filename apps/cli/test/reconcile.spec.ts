import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { runCli } from '../src/program.js';

describe('ledger reconcile --since', () => {
  let server: Server;
  let port: number;
  const bodies: unknown[] = [];

  /** A stand-in ledger speaking the job API: a job runs for `pollsUntilDone` GETs, or until it is cancelled. */
  let pollsUntilDone = 1;
  let polls = 0;
  let onPoll: (() => void) | undefined;
  const report = {
    reconcilerVersion: 'r2',
    examined: 3,
    recorded: [
      {
        streamId: 'approval-A1',
        executionId: 'E1',
        type: 'MismatchDetected',
        kind: 'dangerous_deviation',
        eventId: 'ev1',
      },
    ],
    lastPosition: '42',
  };
  const job = (state: string, examined = report.examined) => ({
    ...report,
    examined,
    id: 'job-1',
    state,
    total: 3,
    error: null,
  });
  let cancelled = false;

  beforeAll(async () => {
    server = createServer((req, res) => {
      let raw = '';
      req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
      req.on('end', () => {
        bodies.push({ method: req.method, url: req.url, body: raw ? (JSON.parse(raw) as unknown) : undefined });
        const send = (status: number, body: unknown) => {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(JSON.stringify(body));
        };
        if (req.method === 'POST') {
          polls = 0;
          cancelled = false;
          return send(202, job('running', 0));
        }
        if (req.method === 'DELETE') {
          cancelled = true;
          return send(202, job('running', 1));
        }
        polls++;
        onPoll?.();
        if (cancelled) return send(200, { ...job('cancelled', 1), recorded: [] });
        return send(200, polls >= pollsUntilDone ? job('finished') : job('running', 1));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const run = async (...args: string[]): Promise<{ code: number; out: string; err: string }> => {
    let out = '';
    let err = '';
    const code = await runCli(['node', 'ledger', ...args, '--http-port', String(port)], {
      out: (t) => (out += t),
      err: (t) => (err += t),
    });
    return { code, out, err };
  };

  it('given an instant, when run, then it starts a re-run job, follows it to its end and prints how many verdicts changed', async () => {
    pollsUntilDone = 2;
    const result = await run('reconcile', '--since', '2026-11-01T00:00:00Z');
    expect(result.code).toBe(0);
    expect(result.err).toContain('re-run job-1: 1/3 examined');
    expect(result.out).toContain('3 executions examined (through position 42), 1 verdicts changed');
    expect(result.out).toContain('approval-A1 E1 → MismatchDetected (dangerous_deviation)');
    expect(bodies.slice(-3)).toEqual([
      { method: 'POST', url: '/v1/reconciliation/rerun', body: { since: '2026-11-01T00:00:00Z' } },
      { method: 'GET', url: '/v1/reconciliation/reruns/job-1', body: undefined },
      { method: 'GET', url: '/v1/reconciliation/reruns/job-1', body: undefined },
    ]);
  });

  it('given a running job, when interrupted (SIGINT), then it cancels the job, prints what it did and exits 1', async () => {
    pollsUntilDone = Number.POSITIVE_INFINITY;
    onPoll = () => {
      onPoll = undefined;
      process.emit('SIGINT');
    };
    const result = await run('reconcile', '--since', '7');
    expect(bodies.filter((b) => (b as { method: string }).method === 'DELETE')).toEqual([
      { method: 'DELETE', url: '/v1/reconciliation/reruns/job-1', body: undefined },
    ]);
    expect(result.code).toBe(1);
    expect(result.out).toContain('[cancelled]: 1 executions examined');
    expect(result.err).toContain('cancelled after 1 of 3 executions');
  });

  it('given a position and --json, when run, then it prints the answer as JSON', async () => {
    pollsUntilDone = 1;
    const result = await run('reconcile', '--since', '17', '--json');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.out)).toMatchObject({ examined: 3, recorded: [{ executionId: 'E1' }] });
    expect(bodies.find((b) => (b as { body?: { since?: string } }).body?.since === '17')).toBeDefined();
  });

  it('given neither an instant nor a position, when run, then it is bad input and nothing is sent', async () => {
    const before = bodies.length;
    const result = await run('reconcile', '--since', 'yesterday');
    expect(result.code).toBe(2);
    expect(result.err).toContain('ISO-8601');
    expect(bodies).toHaveLength(before);
  });
});
