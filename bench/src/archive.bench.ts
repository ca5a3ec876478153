/** `npm run bench:archive`: archive throughput alone (bench/src/archive-throughput.ts; `npm run bench` runs it too). */
import { archiveThroughputBench } from './archive-throughput.js';

await archiveThroughputBench();
