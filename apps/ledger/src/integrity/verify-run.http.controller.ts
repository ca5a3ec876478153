import { actorOf, type Principal } from '@audit-ledger/domain';
import { publicKeyRing } from '@audit-ledger/integrity';
import { Body, Controller, HttpCode, Inject, Post } from '@nestjs/common';
import { z } from 'zod';
import { AuditAccessRecorder } from '../audit-access/audit-access.recorder.js';
import type { LedgerConfig } from '../config/ledger.config.js';
import { Allow, CurrentPrincipal } from '../identity/access.js';
import { parseRequest, RequestValidationError } from '../shared/request-validation.js';
import { CLOCK, DATABASE_URL, LEDGER_CONFIG, type Clock } from '../shared/tokens.js';
import { publicKeysOf, verifyLedger, type VerifyReport } from '@audit-ledger/evidence';
import { VerifyRunSchema } from '../openapi/response-schemas.js';
import { ApiOkResponse } from '@nestjs/swagger';

const position = z.string().regex(/^(0|[1-9]\d{0,18})$/, 'a global position: a decimal integer');
export const VerifyRunBody = z
  .strictObject({
    /** Only this stream's hash chain (checkpoint signatures are still checked), as `ledger verify --stream`. */
    streamId: z.string().min(1).max(300).optional(),
    /** Inclusive global-position window, as `ledger verify --from/--to`. */
    from: position.optional(),
    to: position.optional(),
  })
  .refine((body) => body.from === undefined || body.to === undefined || BigInt(body.from) <= BigInt(body.to), {
    message: 'from is after to',
    path: ['to'],
  });

/** Findings kept in the answer (the report says how many there were only up to this). */
const MAX_FINDINGS = 100;

/**
 * `POST /v1/integrity/verify` `{ streamId?, from?, to? }` (a JSON body is required: `{}` for the whole ledger): runs what `ledger verify` runs (every hash chain, signed
 * checkpoint and sealed range, with the ledger's own public keys) and answers its report, with when it ran and how
 * long it took. One run at a time: a second request waits for the first. Recorded as an `AuditDataAccessed` read.
 */
@Controller('v1/integrity')
export class VerifyRunHttpController {
  private running: Promise<unknown> = Promise.resolve();

  constructor(
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
    @Inject(DATABASE_URL) private readonly databaseUrl: string,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly recorder: AuditAccessRecorder,
  ) {}

  @Post('verify')
  @Allow('security')
  @HttpCode(200)
  @ApiOkResponse({ description: 'the verification report', standardSchema: VerifyRunSchema })
  async verify(@Body({ schema: VerifyRunBody }) body: unknown, @CurrentPrincipal() principal: Principal) {
    const scope = parseRequest(VerifyRunBody, body); // a JSON object: `{}` verifies everything
    if (scope.streamId !== undefined && (scope.from !== undefined || scope.to !== undefined)) {
      throw new RequestValidationError([{ path: 'streamId', message: 'give either streamId or from/to, not both' }]);
    }
    const run = this.running.then(() => this.run(scope));
    this.running = run.catch(() => undefined);
    let status = 500;
    try {
      const result = await run;
      status = 200;
      return result;
    } finally {
      this.recorder.record({
        actor: actorOf(principal),
        route: 'POST /v1/integrity/verify',
        params: {},
        filters: { ...scope },
        status,
      });
    }
  }

  private async run(scope: z.output<typeof VerifyRunBody>): Promise<VerifyReport & Record<string, unknown>> {
    const startedAt = this.clock.now();
    const report = await verifyLedger({
      databaseUrl: this.databaseUrl,
      keys: publicKeyRing(publicKeysOf(this.config)),
      maxFindings: MAX_FINDINGS,
      ...(scope.streamId !== undefined ? { stream: scope.streamId } : {}),
      ...(scope.from !== undefined ? { from: BigInt(scope.from) } : {}),
      ...(scope.to !== undefined ? { to: BigInt(scope.to) } : {}),
    });
    const finishedAt = this.clock.now();
    return {
      ...report,
      scope,
      startedAt: startedAt.toISOString(),
      durationMs: finishedAt.getTime() - startedAt.getTime(),
    };
  }
}
