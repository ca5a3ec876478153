import { ApproveErasureRequest, ErasureReply, type Principal } from '@audit-ledger/domain';
import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiCreatedResponse } from '@nestjs/swagger';
import { Allow, CurrentPrincipal } from '../../identity/access.js';
import { parseRequest } from '../../shared/request-validation.js';
import { ApproveErasureCommand } from './approve-erasure.command.js';

/**
 * `POST /v1/erasures/approvals` with `{ streamId, reason }`: one approval of a stream's erasure by the authenticated
 * principal, which must hold both security and admin (the decider refuses otherwise, ERASURE.FORBIDDEN). The first
 * answers `awaiting_second_approval`; a second, distinct principal's answers `erased`.
 */
@Controller('v1/erasures')
export class ApproveErasureHttpController {
  constructor(private readonly commandBus: CommandBus) {}

  @Post('approvals')
  @Allow('security', 'admin')
  @HttpCode(201)
  @ApiCreatedResponse({
    description: 'approval recorded; `erased` once two distinct principals approved',
    standardSchema: ErasureReply,
  })
  approve(
    @Body({ schema: ApproveErasureRequest }) body: unknown,
    @CurrentPrincipal() principal: Principal,
  ): Promise<ErasureReply> {
    return this.commandBus.execute(new ApproveErasureCommand(parseRequest(ApproveErasureRequest, body), principal));
  }
}
