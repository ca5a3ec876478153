/** `npm run bench:workers`: CPU per event by worker (bench/src/workers-cpu.ts), into docs/benchmarks.md. */
import { workersCpuBench } from './workers-cpu.js';

await workersCpuBench(Number(process.env.BENCH_SECONDS ?? 10));
