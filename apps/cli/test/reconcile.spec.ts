import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { runCli } from '../src/program.js';

describe('ledger reconcile --since', () => {
  let server: Server;
  let port: number;
  const bodies: unknown[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      let raw = '';
      req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
      req.on('end', () => {
        bodies.push({ method: req.method, url: req.url, body: JSON.parse(raw) as unknown });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
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
          }),
        );
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

  it('given an instant, when run, then it POSTs it to the re-run endpoint and prints how many verdicts changed', async () => {
    const result = await run('reconcile', '--since', '2026-11-01T00:00:00Z');
    expect(result).toMatchObject({ code: 0, err: '' });
    expect(result.out).toContain('3 executions examined (through position 42), 1 verdicts changed');
    expect(result.out).toContain('approval-A1 E1 → MismatchDetected (dangerous_deviation)');
    expect(bodies.at(-1)).toEqual({
      method: 'POST',
      url: '/v1/reconciliation/rerun',
      body: { since: '2026-11-01T00:00:00Z' },
    });
  });

  it('given a position and --json, when run, then it prints the answer as JSON', async () => {
    const result = await run('reconcile', '--since', '17', '--json');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.out)).toMatchObject({ examined: 3, recorded: [{ executionId: 'E1' }] });
    expect(bodies.at(-1)).toMatchObject({ body: { since: '17' } });
  });

  it('given neither an instant nor a position, when run, then it is bad input and nothing is sent', async () => {
    const before = bodies.length;
    const result = await run('reconcile', '--since', 'yesterday');
    expect(result.code).toBe(2);
    expect(result.err).toContain('ISO-8601');
    expect(bodies).toHaveLength(before);
  });
});
