import { ApiOkResponse } from '@nestjs/swagger';
import { StreamNotFoundError, type EventStore } from '@audit-ledger/event-store';
import { Controller, Get, Inject, Query } from '@nestjs/common';
import { z } from 'zod';
import type { LedgerConfig } from '../config/ledger.config.js';
import { parseRequest, RequestValidationError } from '../shared/request-validation.js';
import { EVENT_STORE, LEDGER_CONFIG } from '../shared/tokens.js';
import {
  buildEvidenceBundle,
  buildRangeEvidenceBundle,
  MAX_RANGE_BUNDLE_POSITIONS,
  publicKeysOf,
  WITNESS_STATUS,
  type WitnessStatusProbe,
} from '@audit-ledger/evidence';
import { LastCheckpointVerification } from './last-checkpoint-verification.js';
import { Allow } from '../identity/access.js';
import { EvidenceBundleSchema, IntegritySchema } from '../openapi/response-schemas.js';

const position = z.string().regex(/^[1-9]\d{0,18}$/, 'a global position: a positive decimal integer');
const EvidenceQuery = z
  .object({
    approvalId: z.string().min(1).max(200).optional(),
    streamId: z.string().min(1).max(300).optional(),
    from: position.optional(),
    to: position.optional(),
  })
  .strict();

/** `GET /v1/integrity` (the last checkpoint, re-verified) and `GET /v1/evidence` (an evidence bundle), docs/integrity.md. */
@Controller('v1')
export class IntegrityHttpController {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
    private readonly lastVerification: LastCheckpointVerification,
    @Inject(WITNESS_STATUS) private readonly witnesses: WitnessStatusProbe,
  ) {}

  /** The last checkpoint as stored, and its re-verification (cached until a newer checkpoint is sealed). */
  @Get('integrity')
  @Allow('reader')
  @ApiOkResponse({ description: 'the last checkpoint and its re-verification', standardSchema: IntegritySchema })
  async integrity() {
    const current = await this.lastVerification.current();
    if (!current) {
      return {
        checkpointsEnabled: this.config.checkpointsEnabled,
        lastCheckpoint: null,
        verification: null,
        witnesses: this.witnesses(),
      };
    }
    const { last, verification } = current;
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
      verification,
      witnesses: this.witnesses(),
    };
  }

  @Get('evidence')
  @Allow('security')
  @ApiOkResponse({ description: 'the evidence bundle', standardSchema: EvidenceBundleSchema })
  async evidence(@Query({ schema: EvidenceQuery }) query: unknown) {
    const { approvalId, streamId, from, to } = parseRequest(EvidenceQuery, query);
    const scopes = [approvalId, streamId, from ?? to].filter((given) => given !== undefined).length;
    if (scopes !== 1) {
      throw new RequestValidationError([
        { path: '', message: 'give exactly one of approvalId, streamId, or from and to' },
      ]);
    }
    if (from !== undefined || to !== undefined) return this.rangeEvidence(from, to);
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

  private rangeEvidence(from: string | undefined, to: string | undefined) {
    if (from === undefined || to === undefined) {
      throw new RequestValidationError([
        { path: from === undefined ? 'from' : 'to', message: 'from and to go together' },
      ]);
    }
    const fromPosition = BigInt(from);
    const toPosition = BigInt(to);
    if (fromPosition > toPosition) {
      throw new RequestValidationError([{ path: 'to', message: `must not be below from (${from})` }]);
    }
    if (toPosition - fromPosition + 1n > MAX_RANGE_BUNDLE_POSITIONS) {
      throw new RequestValidationError([
        { path: 'to', message: `a range bundle covers at most ${MAX_RANGE_BUNDLE_POSITIONS} positions` },
      ]);
    }
    return buildRangeEvidenceBundle({
      store: this.store,
      fromPosition,
      toPosition,
      publicKeys: publicKeysOf(this.config),
    });
  }
}
