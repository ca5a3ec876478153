import { ApprovalGrantedData, RiskLevel } from '@audit-ledger/domain';
import {
  APPROVAL_EXPORT_COLUMNS,
  approvalExportRow,
  ApprovalItemSchema,
  pageSchema,
  QUERY_PROJECTIONS,
  type ApprovalItem,
} from '@audit-ledger/read-models';
import { Controller, Get, Inject, NotFoundException, Param, Query, Res, UseFilters } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOkResponse, ApiProduces } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { exportFile, exportFormat } from './export-file.js';
import { filterText, pageParams, parseQuery, queryObject, readParams } from './query-params.js';
import { QueriesDatabase } from './queries-database.js';
import { ReadModelNotCaughtUpFilter, stampReadPosition } from './read-position.js';
import { Allow } from '../identity/access.js';
import { EXPORT_CONTENT } from '../openapi/response-schemas.js';

const approvalFilters = {
  approvalId: filterText,
  sessionId: filterText,
  workerId: filterText,
  riskLevel: RiskLevel.optional(),
  status: z.enum(['pending', 'matched', 'mismatch', 'unclear', 'unused', 'rejected', 'revoked', 'expired']).optional(),
  decision: ApprovalGrantedData.shape.decision.optional(),
  /** `true`: only approvals whose approver was proven; `false`: only unproven ones. */
  approverVerified: z
    .enum(['true', 'false'])
    .transform((value) => value === 'true')
    .optional(),
};
const ListApprovalsShape = { ...pageParams, ...approvalFilters };
const ListApprovalsQuery = queryObject(ListApprovalsShape);
const { limit: _limit, cursor: _cursor, ...exportPageParams } = pageParams;
const ExportShape = { ...exportPageParams, ...approvalFilters, format: exportFormat };
const ExportQuery = queryObject(ExportShape);
const ReadQuery = z.strictObject(readParams);

/**
 * `GET /v1/approvals` (filters, keyset pages, newest first), `GET /v1/approvals/:approvalId` and
 * `GET /v1/approvals/export?format=csv|json|jsonl&…filters` (streamed, all matching rows).
 */
@Controller('v1/approvals')
@UseFilters(ReadModelNotCaughtUpFilter)
export class ApprovalsQueryHttpController {
  constructor(@Inject(QueriesDatabase) private readonly db: QueriesDatabase) {}

  @Get()
  @Allow('reader')
  @ApiOkResponse({ description: 'a keyset page of approvals', standardSchema: pageSchema(ApprovalItemSchema) })
  async list(@Query({ schema: ListApprovalsQuery }) query: unknown, @Res({ passthrough: true }) reply: FastifyReply) {
    const filter = parseQuery(ListApprovalsQuery, Object.keys(ListApprovalsShape), query);
    await stampReadPosition(this.db.queries, reply, QUERY_PROJECTIONS.approvals, filter.minPosition);
    return this.db.queries.listApprovals(filter);
  }

  @Get('export')
  @Allow('reader')
  @ApiProduces('text/csv', 'application/json', 'application/x-ndjson')
  @ApiOkResponse({
    description: 'every matching approval, streamed: CSV (RFC 4180), a JSON array or JSON lines',
    content: EXPORT_CONTENT,
  })
  async export(@Query({ schema: ExportQuery }) query: unknown, @Res({ passthrough: true }) reply: FastifyReply) {
    const { format, ...filter } = parseQuery(ExportQuery, Object.keys(ExportShape), query);
    await stampReadPosition(this.db.queries, reply, QUERY_PROJECTIONS.approvals, filter.minPosition);
    return exportFile('approvals', format, this.db.queries.streamApprovals(filter), {
      columns: APPROVAL_EXPORT_COLUMNS,
      fields: (row: ApprovalItem) => {
        const flat = approvalExportRow(row);
        return APPROVAL_EXPORT_COLUMNS.map((column) => flat[column]);
      },
    });
  }

  @Get(':approvalId')
  @Allow('reader')
  @ApiOkResponse({ description: 'the approval', standardSchema: ApprovalItemSchema })
  @ApiNotFoundResponse({ description: 'not in the read model (yet)' })
  async get(
    @Param('approvalId') approvalId: string,
    @Query({ schema: ReadQuery }) query: unknown,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const { minPosition } = parseQuery(ReadQuery, Object.keys(readParams), query);
    await stampReadPosition(this.db.queries, reply, QUERY_PROJECTIONS.approvals, minPosition);
    const approval = await this.db.queries.getApproval(approvalId);
    if (!approval) throw new NotFoundException(`No approval ${approvalId} in the read model`);
    return approval;
  }
}
