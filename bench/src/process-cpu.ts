import { readdirSync, readFileSync } from 'node:fs';
import pg from 'pg';

/** Clock ticks per second of /proc/<pid>/stat's times (`getconf CLK_TCK`: 100 on Linux x86-64). */
const TICKS_PER_SECOND = 100;

interface ProcTimes {
  ppid: number;
  /** utime + stime, ms. */
  own: number;
  /** cutime + cstime (reaped children), ms. */
  children: number;
}

function procTimes(pid: number): ProcTimes | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // exited
  }
  // Fields after the command name (which may hold spaces) in parentheses: state is field 3.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const tick = (index: number) => (Number(fields[index - 3]) * 1000) / TICKS_PER_SECOND;
  return { ppid: Number(fields[1]), own: tick(14) + tick(15), children: tick(16) + tick(17) };
}

/** CPU ms one process has used so far (its own threads, not its children). */
export function processCpuMs(pid: number): number {
  return procTimes(pid)?.own ?? 0;
}

/**
 * CPU ms a PostgreSQL server has used so far: the postmaster, its live children (backends, WAL writer, checkpointer…)
 * and the children it has reaped (a backend that ended counts in its parent's cutime). A difference of two readings is
 * the server's CPU in between, whichever backends came and went.
 */
export function serverCpuMs(postmaster: number): number {
  const root = procTimes(postmaster);
  if (!root) return 0;
  let total = root.own + root.children;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const child = procTimes(Number(entry));
    if (child?.ppid === postmaster) total += child.own;
  }
  return total;
}

/** The postmaster's pid of the (local) server behind `databaseUrl`: the parent of a backend. */
export async function postmasterPid(databaseUrl: string): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const backend = procTimes(rows[0]!.pid);
    if (!backend) throw new Error('the PostgreSQL server is not on this machine: its CPU cannot be read from /proc');
    return backend.ppid;
  } finally {
    await client.end();
  }
}
