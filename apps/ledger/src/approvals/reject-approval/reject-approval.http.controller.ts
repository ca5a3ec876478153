import { actorOf, CommandAck, RejectApprovalRequest, type Principal } from '@audit-ledger/domain';
import { Body, Controller, HttpCode, Param, Post } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiCreatedResponse } from '@nestjs/swagger';
import { Allow, CurrentPrincipal } from '../../identity/access.js';
import { CurrentRequestId } from '../../logging/request-context.js';
import { parseRequest, withPathParam } from '../../shared/request-validation.js';
import { RejectApprovalCommand } from './reject-approval.command.js';

/**
 * The body as documented: the request without the id the path carries. Exported because ESLint's
 * no-useless-assignment does not see its use in a parameter decorator.
 * @public
 */
export const RejectApprovalBody = RejectApprovalRequest.omit({ approvalId: true });

@Controller('v1/approvals')
export class RejectApprovalHttpController {
  constructor(private readonly commandBus: CommandBus) {}

  /** The approval id comes from the path; a body that names another one is refused. */
  @Post(':approvalId/reject')
  @Allow('gateway')
  @HttpCode(201)
  @ApiCreatedResponse({ description: 'recorded (or recorded before: `duplicate`)', standardSchema: CommandAck })
  reject(
    @Param('approvalId') approvalId: string,
    @Body({ schema: RejectApprovalBody }) body: unknown,
    @CurrentPrincipal() principal: Principal,
    @CurrentRequestId() requestId: string | undefined,
  ): Promise<CommandAck> {
    const payload = withPathParam(body, 'approvalId', approvalId);
    return this.commandBus.execute(
      new RejectApprovalCommand(parseRequest(RejectApprovalRequest, payload), actorOf(principal), requestId),
    );
  }
}
