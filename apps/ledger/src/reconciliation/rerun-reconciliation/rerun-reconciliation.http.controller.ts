import { actorOf, type Principal } from '@audit-ledger/domain';
import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Res, UseFilters } from '@nestjs/common';
import { RerunJobListSchema, RerunJobSchema } from '../../openapi/response-schemas.js';
import { ApiAcceptedResponse, ApiConflictResponse, ApiNotFoundResponse, ApiOkResponse } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { parseRequest } from '../../shared/request-validation.js';
import { RERUN_JOB_PATH, type RerunJobView } from './rerun-job.js';
import { RerunJobErrorFilter } from './rerun-job-error.filter.js';
import { RerunJobs } from './rerun-jobs.js';
import { Allow, CurrentPrincipal } from '../../identity/access.js';

const RerunRequest = z
  .object({
    /** An ISO-8601 instant (executions recorded at or after it) or a global position (executions after it). */
    since: z.union([
      z.iso.datetime({ offset: true }).transform((at) => ({ at: new Date(at).toISOString() })),
      z
        .string()
        .regex(/^\d{1,19}$/, 'an ISO-8601 instant or a global position')
        .transform((p) => ({ afterPosition: BigInt(p) })),
    ]),
  })
  .strict();

/**
 * The server side of `ledger reconcile --since …`: `POST /v1/reconciliation/rerun` `{ since }` starts a background
 * job re-running the current reconciler over recorded executions (only changed verdicts are recorded) and answers
 * 202 with the job and its `Location`; `GET /v1/reconciliation/reruns[/{id}]` shows progress;
 * `DELETE …/{id}` cancels it before its next execution. One job at a time (409 with the running one).
 */
@Controller('v1/reconciliation')
@UseFilters(RerunJobErrorFilter)
export class RerunReconciliationHttpController {
  constructor(@Inject(RerunJobs) private readonly jobs: RerunJobs) {}

  @Post('rerun')
  @Allow('security')
  @HttpCode(202)
  @ApiAcceptedResponse({
    description: 'the job, started; `Location` is its progress view',
    standardSchema: RerunJobSchema,
  })
  @ApiConflictResponse({ description: '`RECONCILIATION.RERUN_RUNNING`: another job runs (`runningJob`)' })
  rerun(
    @Body({ schema: RerunRequest }) body: unknown,
    @CurrentPrincipal() principal: Principal,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): RerunJobView {
    const parsed = parseRequest(RerunRequest, body);
    const since = { text: (body as { since: string }).since, parsed: parsed.since };
    const job = this.jobs.start(since, actorOf(principal));
    void reply.header('location', `${RERUN_JOB_PATH}/${job.id}`);
    return job;
  }

  @Get('reruns')
  @Allow('security')
  @ApiOkResponse({
    description: '`{ jobs }`: the last 20 jobs, newest first (without their `recorded` lists)',
    standardSchema: RerunJobListSchema,
  })
  list(): { jobs: RerunJobView[] } {
    return { jobs: this.jobs.list() };
  }

  @Get('reruns/:id')
  @Allow('security')
  @ApiOkResponse({
    description: 'the job: state, examined / total, verdicts changed, times, error',
    standardSchema: RerunJobSchema,
  })
  @ApiNotFoundResponse({ description: '`RECONCILIATION.RERUN_NOT_FOUND`' })
  get(@Param('id') id: string): RerunJobView {
    return this.jobs.get(id);
  }

  @Delete('reruns/:id')
  @Allow('security')
  @HttpCode(202)
  @ApiAcceptedResponse({
    description: 'the job, `cancelRequested`: it stops before its next execution',
    standardSchema: RerunJobSchema,
  })
  @ApiNotFoundResponse({ description: '`RECONCILIATION.RERUN_NOT_FOUND`' })
  cancel(@Param('id') id: string): RerunJobView {
    return this.jobs.cancel(id);
  }
}
