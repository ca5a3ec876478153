import { ReadModelNotCaughtUpError, type ReadModelQueries } from '@audit-ledger/read-models';
import { Catch, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply } from 'fastify';

/** How long `?minPosition=` waits for the projections at most, and how often it looks. */
const MIN_POSITION_TIMEOUT_MS = 5000;
const MIN_POSITION_POLL_MS = 20;

/**
 * Before a query runs: waits for `minPosition` if asked (read-your-writes), then sets `x-ledger-position` (the lowest
 * checkpoint of the projections the query reads; everything up to it is in the answer) and `x-ledger-lag` (the
 * store's head minus that). Read before the query, so the position is a lower bound of what the answer reflects.
 */
export async function stampReadPosition(
  queries: ReadModelQueries,
  reply: FastifyReply,
  projections: readonly string[],
  minPosition: bigint | undefined,
): Promise<void> {
  const at =
    minPosition === undefined
      ? await queries.readPosition(projections)
      : await queries.waitForPosition(projections, minPosition, {
          timeoutMs: MIN_POSITION_TIMEOUT_MS,
          pollMs: MIN_POSITION_POLL_MS,
        });
  void reply.header('x-ledger-position', at.position.toString());
  void reply.header('x-ledger-lag', (at.head > at.position ? at.head - at.position : 0n).toString());
}

/** `?minPosition=` not reached in time: 503 `READ_MODEL.NOT_CAUGHT_UP`, with how far the read model is. */
@Catch(ReadModelNotCaughtUpError)
export class ReadModelNotCaughtUpFilter implements ExceptionFilter {
  catch(error: ReadModelNotCaughtUpError, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    void reply
      .status(503)
      .header('retry-after', '1')
      .header('x-ledger-position', error.reached.toString())
      .send({ error: { code: error.code, message: error.message } });
  }
}
