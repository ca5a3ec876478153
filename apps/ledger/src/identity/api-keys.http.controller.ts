import {
  ApiKeyChangeRequest,
  ApiKeyId,
  ApiKeyList,
  holdsRole,
  IssuedApiKey,
  IssueApiKeyRequest,
  type Principal,
} from '@audit-ledger/domain';
import {
  Body,
  Controller,
  createParamDecorator,
  Get,
  Headers,
  HttpCode,
  Inject,
  Param,
  Post,
  type ExecutionContext,
} from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse } from '@nestjs/swagger';
import { parseRequest } from '../shared/request-validation.js';
import { Allow, principalOf } from './access.js';
import { ApiKeyAdmin } from './api-key-admin.js';
import { AUTHENTICATOR, ForbiddenError, UnauthenticatedError, type Authenticator } from './authenticator.js';

/** The principal the guards attached, if any. */
const GuardedPrincipal = createParamDecorator((_data: unknown, context: ExecutionContext): Principal | undefined =>
  principalOf(context),
);

/**
 * Administration of API keys (docs/security.md, "Principals and API keys"): issue (the key is in the answer, once),
 * list (never a key or hash), rotate, revoke. Each change is an event of the `principals` stream whose actor is the
 * calling admin principal.
 */
@Controller('v1/principals/keys')
export class ApiKeysHttpController {
  constructor(
    private readonly admin: ApiKeyAdmin,
    @Inject(AUTHENTICATOR) private readonly authenticator: Authenticator,
  ) {}

  @Post()
  @Allow('admin')
  @HttpCode(201)
  @ApiCreatedResponse({
    description: 'the new key: shown this once, only its hash is kept',
    standardSchema: IssuedApiKey,
  })
  async issue(
    @GuardedPrincipal() principal: Principal | undefined,
    @Headers('authorization') authorization: string | undefined,
    @Body({ schema: IssueApiKeyRequest }) body: unknown,
  ): Promise<IssuedApiKey> {
    const actor = await this.adminOf(principal, authorization);
    return this.admin.issue(parseRequest(IssueApiKeyRequest, body), actor.id);
  }

  @Get()
  @Allow('admin')
  @ApiOkResponse({ description: 'every key issued, revoked ones included', standardSchema: ApiKeyList })
  async list(
    @GuardedPrincipal() principal: Principal | undefined,
    @Headers('authorization') authorization: string | undefined,
  ): Promise<ApiKeyList> {
    await this.adminOf(principal, authorization);
    return { keys: await this.admin.list() };
  }

  @Post(':keyId/rotate')
  @Allow('admin')
  @HttpCode(201)
  @ApiCreatedResponse({ description: 'the successor key (the old one is revoked)', standardSchema: IssuedApiKey })
  async rotate(
    @GuardedPrincipal() principal: Principal | undefined,
    @Headers('authorization') authorization: string | undefined,
    @Param('keyId') keyId: string,
    @Body({ schema: ApiKeyChangeRequest }) body: unknown,
  ): Promise<IssuedApiKey> {
    const actor = await this.adminOf(principal, authorization);
    const { reason } = parseRequest(ApiKeyChangeRequest, body ?? {});
    return this.admin.rotate(parseRequest(ApiKeyId, keyId), reason, actor.id);
  }

  @Post(':keyId/revoke')
  @Allow('admin')
  @HttpCode(201)
  @ApiCreatedResponse({ description: 'revoked: refused by every ledger instance within a second' })
  async revoke(
    @GuardedPrincipal() principal: Principal | undefined,
    @Headers('authorization') authorization: string | undefined,
    @Param('keyId') keyId: string,
    @Body({ schema: ApiKeyChangeRequest }) body: unknown,
  ): Promise<{ keyId: string; status: 'revoked' }> {
    const actor = await this.adminOf(principal, authorization);
    const { reason } = parseRequest(ApiKeyChangeRequest, body ?? {});
    const id = parseRequest(ApiKeyId, keyId);
    await this.admin.revoke(id, reason, actor.id);
    return { keyId: id, status: 'revoked' };
  }

  /**
   * The calling admin: the principal the guards attached; where no guard ran, the bearer credential authenticated
   * here, so these routes are never open to an anonymous or non-admin caller.
   */
  private async adminOf(attached: Principal | undefined, authorization: string | undefined): Promise<Principal> {
    if (attached) return attached;
    const credential = /^Bearer\s+(.+)$/i.exec(authorization ?? '')?.[1];
    if (!credential) throw new UnauthenticatedError('no credential: send Authorization: Bearer <admin API key>');
    const principal = await this.authenticator.authenticate(credential);
    if (!holdsRole(principal.roles, 'admin')) {
      throw new ForbiddenError(`${principal.id} does not hold the role admin, which managing API keys requires`);
    }
    return principal;
  }
}
