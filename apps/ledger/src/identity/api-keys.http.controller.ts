import {
  ApiKeyChangeRequest,
  ApiKeyId,
  ApiKeyList,
  IssuedApiKey,
  IssueApiKeyRequest,
  type Principal,
} from '@audit-ledger/domain';
import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse } from '@nestjs/swagger';
import { parseRequest } from '../shared/request-validation.js';
import { Allow, CurrentPrincipal } from './access.js';
import { LedgerIdentity } from './ledger-identity.js';
import { KeyRevokedSchema } from '../openapi/response-schemas.js';

/**
 * Administration of API keys (docs/security.md, "Principals and API keys"): issue (the key is in the answer, once),
 * list (never a key or hash), rotate, revoke. Each change is an event of the `principals` stream whose actor is the
 * calling admin principal.
 */
@Controller('v1/principals/keys')
export class ApiKeysHttpController {
  constructor(private readonly identity: LedgerIdentity) {}

  @Post()
  @Allow('admin')
  @HttpCode(201)
  @ApiCreatedResponse({
    description: 'the new key: shown this once, only its hash is kept',
    standardSchema: IssuedApiKey,
  })
  async issue(
    @CurrentPrincipal() actor: Principal,
    @Body({ schema: IssueApiKeyRequest }) body: unknown,
  ): Promise<IssuedApiKey> {
    return this.identity.admin.issue(parseRequest(IssueApiKeyRequest, body), actor.id);
  }

  @Get()
  @Allow('admin')
  @ApiOkResponse({ description: 'every key issued, revoked ones included', standardSchema: ApiKeyList })
  async list(): Promise<ApiKeyList> {
    return { keys: await this.identity.admin.list() };
  }

  @Post(':keyId/rotate')
  @Allow('admin')
  @HttpCode(201)
  @ApiCreatedResponse({ description: 'the successor key (the old one is revoked)', standardSchema: IssuedApiKey })
  async rotate(
    @CurrentPrincipal() actor: Principal,
    @Param('keyId') keyId: string,
    @Body({ schema: ApiKeyChangeRequest }) body: unknown,
  ): Promise<IssuedApiKey> {
    const { reason } = parseRequest(ApiKeyChangeRequest, body ?? {});
    return this.identity.admin.rotate(parseRequest(ApiKeyId, keyId), reason, actor.id);
  }

  @Post(':keyId/revoke')
  @Allow('admin')
  @HttpCode(201)
  @ApiCreatedResponse({
    description: 'revoked: refused by every ledger instance within a second',
    standardSchema: KeyRevokedSchema,
  })
  async revoke(
    @CurrentPrincipal() actor: Principal,
    @Param('keyId') keyId: string,
    @Body({ schema: ApiKeyChangeRequest }) body: unknown,
  ): Promise<{ keyId: string; status: 'revoked' }> {
    const { reason } = parseRequest(ApiKeyChangeRequest, body ?? {});
    const id = parseRequest(ApiKeyId, keyId);
    await this.identity.admin.revoke(id, reason, actor.id);
    return { keyId: id, status: 'revoked' };
  }
}
