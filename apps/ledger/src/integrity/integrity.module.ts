import { Module } from '@nestjs/common';
import type { Logger } from 'pino';
import type { LedgerConfig } from '../config/ledger.config.js';
import { LEDGER_CONFIG, LOGGER } from '../shared/tokens.js';
import { IntegrityHttpController } from './integrity.http.controller.js';
import { CheckpointSealerWorker, INTEGRITY_KEYS, integrityKeysOf, WitnessesWorker } from './integrity.workers.js';
import { LastCheckpointVerification } from './last-checkpoint-verification.js';
import { VerifyRunHttpController } from './verify-run.http.controller.js';
import { WITNESS_STATUS } from '@audit-ledger/evidence';

/** Checkpoints (keys, sealer), witnesses, verification runs and the integrity routes. */
@Module({
  controllers: [IntegrityHttpController, VerifyRunHttpController],
  providers: [
    {
      provide: INTEGRITY_KEYS,
      useFactory: (config: LedgerConfig, logger: Logger) => integrityKeysOf(config, logger),
      inject: [LEDGER_CONFIG, LOGGER],
    },
    WitnessesWorker,
    CheckpointSealerWorker,
    {
      provide: WITNESS_STATUS,
      useFactory: (witnesses: WitnessesWorker) => () => witnesses.status(),
      inject: [WitnessesWorker],
    },
    LastCheckpointVerification,
  ],
  exports: [WITNESS_STATUS],
})
export class IntegrityModule {}
