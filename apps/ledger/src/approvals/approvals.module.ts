import { Module } from '@nestjs/common';
import { IdentityModule } from '../identity/identity.module.js';
import { GrantApprovalHandler } from './grant-approval/grant-approval.handler.js';
import { GrantApprovalHttpController } from './grant-approval/grant-approval.http.controller.js';
import { GrantApprovalMessageController } from './grant-approval/grant-approval.message.controller.js';
import { LogExecutionHandler } from './log-execution/log-execution.handler.js';
import { LogExecutionHttpController } from './log-execution/log-execution.http.controller.js';
import { LogExecutionMessageController } from './log-execution/log-execution.message.controller.js';
import { RejectApprovalHandler } from './reject-approval/reject-approval.handler.js';
import { RejectApprovalHttpController } from './reject-approval/reject-approval.http.controller.js';
import { RejectApprovalMessageController } from './reject-approval/reject-approval.message.controller.js';
import { RevokeApprovalHandler } from './revoke-approval/revoke-approval.handler.js';
import { RevokeApprovalHttpController } from './revoke-approval/revoke-approval.http.controller.js';
import { RevokeApprovalMessageController } from './revoke-approval/revoke-approval.message.controller.js';

/** The command side: grant, reject, revoke, log an execution; over HTTP and messages (TCP or NATS). */
@Module({
  imports: [IdentityModule], // approver proofs (OIDC)
  controllers: [
    GrantApprovalMessageController,
    GrantApprovalHttpController,
    RejectApprovalMessageController,
    RejectApprovalHttpController,
    RevokeApprovalMessageController,
    RevokeApprovalHttpController,
    LogExecutionMessageController,
    LogExecutionHttpController,
  ],
  providers: [GrantApprovalHandler, RejectApprovalHandler, RevokeApprovalHandler, LogExecutionHandler],
})
export class ApprovalsModule {}
