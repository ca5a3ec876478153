import { actorOf, CommandAck, RevokeApprovalRequest, type Principal } from '@audit-ledger/domain';
import { Body, Controller, HttpCode, Param, Post } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiCreatedResponse } from '@nestjs/swagger';
import { Allow, CurrentPrincipal } from '../../identity/access.js';
import { CurrentRequestId } from '../../logging/request-context.js';
import { parseRequest, withPathParam } from '../../shared/request-validation.js';
import { RevokeApprovalCommand } from './revoke-approval.command.js';

/**
 * The body as documented: the request without the id the path carries. Exported because ESLint's
 * no-useless-assignment does not see its use in a parameter decorator.
 * @public
 */
export const RevokeApprovalBody = RevokeApprovalRequest.omit({ approvalId: true });

@Controller('v1/approvals')
export class RevokeApprovalHttpController {
  constructor(private readonly commandBus: CommandBus) {}

  /** The approval id comes from the path; a body that names another one is refused. */
  @Post(':approvalId/revoke')
  @Allow('gateway')
  @HttpCode(201)
  @ApiCreatedResponse({ description: 'recorded (or recorded before: `duplicate`)', standardSchema: CommandAck })
  revoke(
    @Param('approvalId') approvalId: string,
    @Body({ schema: RevokeApprovalBody }) body: unknown,
    @CurrentPrincipal() principal: Principal,
    @CurrentRequestId() requestId: string | undefined,
  ): Promise<CommandAck> {
    const payload = withPathParam(body, 'approvalId', approvalId);
    return this.commandBus.execute(
      new RevokeApprovalCommand(parseRequest(RevokeApprovalRequest, payload), actorOf(principal), requestId),
    );
  }
}
