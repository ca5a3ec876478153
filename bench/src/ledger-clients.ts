import { localKeyFor } from '@audit-ledger/client';
import { MESSAGE_PATTERNS, type CommandAck, type LogExecutionRequest } from '@audit-ledger/domain';
import { ClientTCP, type ClientProxy } from '@nestjs/microservices';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { firstValueFrom } from 'rxjs';
import { APPROVALS, BENCH_APPROVED_COMMAND, execution } from './workload.js';

/** The gateway key the bench ledger's first start wrote into its data directory. */
export function benchGatewayKey(dataDir: string): string {
  const key = localKeyFor(dataDir, 'gateway');
  if (!key) throw new Error(`no gateway key in ${dataDir}/credentials`);
  return key;
}

/**
 * Nest's TCP client without Nagle's delay, as the gateway's client (`@audit-ledger/client`) connects: a paced client
 * sends its next command while the last may be unanswered, and with Nagle on that write waits for the ledger's reply
 * to the last one (its ACK), so one slow command would hold the next ones on its connection behind it.
 */
class NoDelayTcpClient extends ClientTCP {
  override createSocket(): ReturnType<ClientTCP['createSocket']> {
    const socket = super.createSocket();
    socket.netSocket.setNoDelay(true);
    return socket;
  }
}

/**
 * Clients as a gateway sends: each packet carries the API key as its `auth` member (none: `undefined`, for the
 * bench-only ledger without authentication), with Nagle off as the gateway's client has it.
 */
export function tcpClients(port: number, count: number, credential: string | undefined): ClientProxy[] {
  // Typed as ClientProxyFactory types a TCP client (the status types of the two differ only nominally).
  return Array.from(
    { length: count },
    () =>
      new NoDelayTcpClient({
        host: '127.0.0.1',
        port,
        ...(credential === undefined
          ? {}
          : { serializer: { serialize: (packet: object) => ({ ...packet, auth: credential }) } }),
      }) as unknown as ClientProxy,
  );
}

/** Grants the `APPROVALS` approvals the workload's executions refer to. */
export async function grantBenchApprovals(port: number, credential: string | undefined): Promise<void> {
  const setup = tcpClients(port, 1, credential)[0]!;
  for (let i = 0; i < APPROVALS; i++) {
    await firstValueFrom(
      setup.send(MESSAGE_PATTERNS.grantApproval, {
        approvalId: `bench-${i}`,
        instruction: 'read the api logs',
        approvedCommands: [BENCH_APPROVED_COMMAND],
        riskLevel: 'safe',
        approvedBy: 'bench',
      }),
    );
  }
  await setup.close();
}

export interface PacedRun {
  /** Milliseconds from each execution's scheduled send time to its durable acknowledgement. */
  latencies: number[];
  sent: number;
  /** From the first scheduled send to the last acknowledgement. */
  seconds: number;
}

/**
 * Open loop at a fixed rate: latency counts from the scheduled send time, so a stall is not hidden. `onAck` gets each
 * acknowledgement with the time it arrived (`performance.now()`) and the request it acknowledges; `request` makes the
 * nth execution of the run.
 */
export async function pacedExecutions(
  clients: ClientProxy[],
  ratePerSecond: number,
  seconds: number,
  onAck?: (ack: CommandAck, at: number, request: LogExecutionRequest) => void,
  request: (n: number) => LogExecutionRequest = (n) => execution(n, n),
): Promise<PacedRun> {
  const latencies: number[] = [];
  const inFlight: Promise<void>[] = [];
  const total = Math.round(ratePerSecond * seconds);
  const start = performance.now();
  for (let n = 0; n < total; n++) {
    const scheduled = start + (n * 1000) / ratePerSecond;
    const wait = scheduled - performance.now();
    if (wait > 1) await sleep(wait);
    const client = clients[n % clients.length]!;
    const sent = request(n);
    inFlight.push(
      firstValueFrom(client.send<CommandAck>(MESSAGE_PATTERNS.logExecution, sent)).then((ack) => {
        const at = performance.now();
        latencies.push(at - scheduled);
        onAck?.(ack, at, sent);
      }),
    );
  }
  await Promise.all(inFlight);
  return { latencies, sent: total, seconds: (performance.now() - start) / 1000 };
}

export interface ClosedLoopRun {
  eventsPerSecond: number;
  /** Milliseconds from each send to its acknowledgement. */
  latencies: number[];
}

/** Closed loop: each client sends its next execution when the previous one is acknowledged, for `seconds`. */
export async function closedLoopExecutions(
  clients: ClientProxy[],
  seconds: number,
  firstExecution = 0,
): Promise<ClosedLoopRun> {
  const latencies: number[] = [];
  const deadline = performance.now() + seconds * 1000;
  const start = performance.now();
  let n = firstExecution;
  await Promise.all(
    clients.map(async (client, c) => {
      while (performance.now() < deadline) {
        const sent = performance.now();
        await firstValueFrom(client.send<CommandAck>(MESSAGE_PATTERNS.logExecution, execution(c + n, n++)));
        latencies.push(performance.now() - sent);
      }
    }),
  );
  return { eventsPerSecond: latencies.length / ((performance.now() - start) / 1000), latencies };
}
