import { holdsRole, ROLES, type Principal } from '@audit-ledger/domain';
import { Controller, Get } from '@nestjs/common';
import { Allow, CurrentPrincipal } from './access.js';
import { WhoamiSchema } from '../openapi/response-schemas.js';
import { ApiOkResponse } from '@nestjs/swagger';

/**
 * `GET /v1/whoami`: the caller as the ledger authenticated it, so a dashboard can hide what it may not do. `roles` are
 * the roles it may act in (those it holds and those they include: security reads too).
 */
@Controller('v1/whoami')
export class WhoamiHttpController {
  @Get()
  @ApiOkResponse({
    description: 'the caller and the roles it holds (implied ones included)',
    standardSchema: WhoamiSchema,
  })
  @Allow(...ROLES)
  whoami(@CurrentPrincipal() principal: Principal) {
    return {
      principal: {
        id: principal.id,
        kind: principal.kind,
        name: principal.name,
        roles: ROLES.filter((role) => holdsRole(principal.roles, role)),
      },
    };
  }
}
