/** `npm run bench:alerts`: first alert after a mismatching execution alone (bench/src/first-alert-latency.ts). */
import { firstAlertLatencyBench } from './first-alert-latency.js';

await firstAlertLatencyBench(Number(process.env.BENCH_SECONDS ?? 10));
