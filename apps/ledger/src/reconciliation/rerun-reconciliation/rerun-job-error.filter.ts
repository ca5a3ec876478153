import { ArgumentsHost, Catch, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { RERUN_JOB_PATH, RerunAlreadyRunningError, RerunJobNotFoundError } from './rerun-job.js';

/** The re-run jobs' own codes: a second start while one runs is 409 naming the running job; an unknown job 404. */
@Catch(RerunAlreadyRunningError, RerunJobNotFoundError)
export class RerunJobErrorFilter implements ExceptionFilter {
  catch(error: RerunAlreadyRunningError | RerunJobNotFoundError, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    if (error instanceof RerunJobNotFoundError) {
      void reply.status(404).send({ error: { code: error.code, message: error.message } });
      return;
    }
    const location = `${RERUN_JOB_PATH}/${error.running.id}`;
    void reply
      .status(409)
      .header('location', location)
      .send({ error: { code: error.code, message: error.message, runningJob: { id: error.running.id, location } } });
  }
}
