/** `npm run bench:read-models`: only the read-model sections of `npm run bench` (projection lag, dashboard queries). */
import { dashboardQueriesBench } from './dashboard-queries.js';
import { projectionLagBench } from './projection-lag.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const only = process.argv[2];

if (only !== 'dashboard') await projectionLagBench(SECONDS);
if (only !== 'lag') await dashboardQueriesBench();
