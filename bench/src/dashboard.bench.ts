/** `npm run bench:dashboard`: only the dashboard pages section of `npm run bench` (docs/benchmarks.md). */
import { dashboardPagesBench } from './dashboard-pages.js';

await dashboardPagesBench();
