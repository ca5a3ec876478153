import { Module } from '@nestjs/common';
import { PartitionsWorker } from './partitions.worker.js';

/** The events table's partition rolling (its status is read by `/health` and `/metrics`). */
@Module({
  providers: [PartitionsWorker],
  exports: [PartitionsWorker],
})
export class PartitionsModule {}
