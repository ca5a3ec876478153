import { Module } from '@nestjs/common';
import { ApproveErasureHandler } from './approve-erasure/approve-erasure.handler.js';
import { ApproveErasureHttpController } from './approve-erasure/approve-erasure.http.controller.js';

/** Approving a stream's erasure (the keys and read models are erased by `ledger erase`, docs/security.md). */
@Module({
  controllers: [ApproveErasureHttpController],
  providers: [ApproveErasureHandler],
})
export class ErasureModule {}
