import { isExpectedVersionConflictError } from '@event-driven-io/emmett';
import { getPostgreSQLEventStore } from '@event-driven-io/emmett-postgresql';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { spawnBenchLedger } from './environment.js';
import {
  benchGatewayKey,
  closedLoopExecutions,
  grantBenchApprovals,
  pacedExecutions,
  tcpClients,
  type ClosedLoopRun,
  type PacedRun,
} from './ledger-clients.js';
import { processCpuMs } from './process-cpu.js';
import { execution } from './workload.js';

/** One way of recording the workload's executions, set up on its own database of the shared server. */
export interface Contender {
  readonly name: string;
  /** CPU ms its own (non-PostgreSQL) process has used so far. */
  cpuMs(): number;
  /** `clients` closed-loop callers for `seconds`; the next execution numbers start at `first`. */
  closedLoop(clients: number, seconds: number, first: number): Promise<ClosedLoopRun>;
  /** Open loop at `rate` per second (ledger only). */
  paced?(rate: number, seconds: number): Promise<PacedRun>;
  stop(): Promise<void>;
}

/** CPU ms of this (the bench's) process: for the in-process peers, their library and the callers that drive it. */
const ownCpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

/**
 * The built ledger as its own process, with `env` (workers on or off), its clients over TCP with an API key. `entry`:
 * another build's apps/ledger/dist/main.js (a baseline to compare with).
 */
export async function ledgerContender(name: string, databaseUrl: string, env: Record<string, string>, entry?: string) {
  const ledger = await spawnBenchLedger(databaseUrl, env, entry);
  const credential = benchGatewayKey(ledger.dataDir);
  await grantBenchApprovals(ledger.tcpPort, credential);
  const withClients = async <T>(count: number, run: (clients: ReturnType<typeof tcpClients>) => Promise<T>) => {
    const clients = tcpClients(ledger.tcpPort, count, credential);
    await Promise.all(clients.map((client) => client.connect()));
    try {
      return await run(clients);
    } finally {
      await Promise.all(clients.map((client) => client.close()));
    }
  };
  const contender: Contender = {
    name,
    cpuMs: () => processCpuMs(ledger.pid),
    closedLoop: (count, seconds, first) =>
      withClients(count, (clients) => closedLoopExecutions(clients, seconds, first)),
    paced: (rate, seconds) => withClients(8, (clients) => pacedExecutions(clients, rate, seconds)),
    stop: () => ledger.stop(),
  };
  return contender;
}

/** C callers in this process, each awaiting its own `append` before the next. */
async function closedLoop(
  clients: number,
  seconds: number,
  first: number,
  append: (caller: number, n: number) => Promise<unknown>,
): Promise<ClosedLoopRun> {
  const latencies: number[] = [];
  const deadline = performance.now() + seconds * 1000;
  const start = performance.now();
  let n = first;
  await Promise.all(
    Array.from({ length: clients }, async (_, caller) => {
      while (performance.now() < deadline) {
        const sent = performance.now();
        await append(caller, n++);
        latencies.push(performance.now() - sent);
      }
    }),
  );
  return { eventsPerSecond: latencies.length / ((performance.now() - start) / 1000), latencies };
}

/**
 * Emmett-PostgreSQL (`@event-driven-io/emmett-postgresql`, bench-only) in this process: each execution appended as an
 * `ExecutionLogged` event to its approval's stream (no expected version, like the ledger's executions; a conflict
 * between two callers on one stream is retried), through a pool of 32 connections (pg's default 10 would cap it
 * below 32 callers).
 */
export async function emmettContender(databaseUrl: string): Promise<Contender> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 32 });
  const store = getPostgreSQLEventStore(databaseUrl, { connectionOptions: { pool } });
  const append = async (caller: number, n: number) => {
    const record = execution(caller + n, n);
    for (let attempt = 1; ; attempt++) {
      try {
        return await store.appendToStream(`approval-${record.approvalId!}`, [
          { type: 'ExecutionLogged', data: { ...record } },
        ]);
      } catch (error) {
        // Two callers appending to one stream at once: the later insert of the same stream position loses and is
        // retried, as an application using Emmett would.
        if (!isExpectedVersionConflictError(error) || attempt === 10) throw error;
      }
    }
  };
  await append(0, 0); // creates its schema
  return {
    name: 'Emmett-PostgreSQL 0.42',
    cpuMs: ownCpuMs,
    closedLoop: (clients, seconds, first) => closedLoop(clients, seconds, first, append),
    async stop() {
      await store.close();
      await pool.end();
    },
  };
}

/** What an audit-table logger does: one INSERT and one commit per record, one connection per caller. */
export async function naiveContender(databaseUrl: string): Promise<Contender> {
  const connections = Array.from({ length: 32 }, () => new pg.Client({ connectionString: databaseUrl }));
  await Promise.all(connections.map((client) => client.connect()));
  await connections[0]!.query(
    'CREATE TABLE naive_audit (id bigserial PRIMARY KEY, recorded_at timestamptz DEFAULT now(), data jsonb NOT NULL)',
  );
  return {
    name: 'one INSERT per record',
    cpuMs: ownCpuMs,
    closedLoop: (clients, seconds, first) =>
      closedLoop(clients, seconds, first, (caller, n) =>
        connections[caller]!.query('INSERT INTO naive_audit (data) VALUES ($1)', [
          JSON.stringify(execution(caller + n, n)),
        ]),
      ),
    async stop() {
      await Promise.all(connections.map((client) => client.end()));
    },
  };
}
