import { StreamNotFoundError, type EventStore } from '@audit-ledger/event-store';
import { Controller, Get, Inject, Query } from '@nestjs/common';
import { z } from 'zod';
import type { LedgerConfig } from '../config/ledger.config.js';
import { parseRequest, RequestValidationError } from '../shared/request-validation.js';
import { EVENT_STORE, LEDGER_CONFIG } from '../shared/tokens.js';
import { buildEvidenceBundle, lastCheckpoint, publicKeysOf } from './evidence-exporter.js';

const EvidenceQuery = z
  .object({
    approvalId: z.string().min(1).max(200).optional(),
    streamId: z.string().min(1).max(300).optional(),
  })
  .strict();

/** `GET /v1/integrity` (the last checkpoint) and `GET /v1/evidence` (an evidence bundle), docs/integrity.md. */
@Controller('v1')
export class IntegrityHttpController {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
  ) {}

  @Get('integrity')
  async integrity() {
    const last = await lastCheckpoint(this.store);
    if (!last) return { checkpointsEnabled: this.config.checkpointsEnabled, lastCheckpoint: null };
    const { checkpoint } = last;
    return {
      checkpointsEnabled: this.config.checkpointsEnabled,
      lastCheckpoint: {
        fromPosition: checkpoint.fromPosition,
        toPosition: checkpoint.toPosition,
        count: checkpoint.count,
        merkleRoot: checkpoint.merkleRoot,
        keyId: checkpoint.keyId,
        sealedAt: checkpoint.sealedAt,
        checkpointHash: checkpoint.checkpointHash,
        previousCheckpointHash: checkpoint.previousCheckpointHash,
        globalPosition: last.globalPosition.toString(),
      },
    };
  }

  @Get('evidence')
  async evidence(@Query() query: unknown) {
    const { approvalId, streamId } = parseRequest(EvidenceQuery, query);
    if ((approvalId === undefined) === (streamId === undefined)) {
      throw new RequestValidationError([{ path: '', message: 'give exactly one of approvalId or streamId' }]);
    }
    const stream = streamId ?? `approval-${approvalId}`;
    const bundle = await buildEvidenceBundle({
      store: this.store,
      streamId: stream,
      ...(approvalId !== undefined ? { approvalId } : {}),
      publicKeys: publicKeysOf(this.config),
    });
    if (bundle.events.length === 0) throw new StreamNotFoundError(stream);
    return bundle;
  }
}
