import { Module, type DynamicModule, type Type } from '@nestjs/common';
import { MODULE_METADATA } from '@nestjs/common/constants.js';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';
import { CqrsModule } from '@nestjs/cqrs';
import { AlertsModule } from './alerts/alerts.module.js';
import { ApprovalsModule } from './approvals/approvals.module.js';
import { AuditAccessInterceptor } from './audit-access/audit-access.interceptor.js';
import { AuditAccessModule } from './audit-access/audit-access.module.js';
import { CoreModule } from './core/core.module.js';
import type { LedgerCore } from './core/ledger-core.js';
import { ErasureModule } from './erasure/erasure.module.js';
import { HealthModule } from './health/health.module.js';
import { AccessGuard } from './identity/access-guard.js';
import { IdentityModule } from './identity/identity.module.js';
import { IntegrityModule } from './integrity/integrity.module.js';
import { CallContextInterceptor } from './logging/call-context.interceptor.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { PartitionsModule } from './partitions/partitions.module.js';
import { ProjectionsModule } from './projections/projections.module.js';
import { QueriesModule } from './queries/queries.module.js';
import { ReconciliationModule } from './reconciliation/reconciliation.module.js';
import { HttpDrain } from './shared/http-drain.js';
import { LedgerExceptionFilter } from './shared/ledger-exception.filter.js';
import { StreamsModule } from './streams/streams.module.js';
import { TracingInterceptor } from './tracing/tracing.interceptor.js';

/**
 * The ledger's features, one Nest module each (docs/architecture.md, "Modules"). Nest starts a module's workers after
 * those of the modules it imports; among modules at the same depth, in this order (identity first, as the key table
 * is what every entrance needs).
 */
export const FEATURE_MODULES = [
  PartitionsModule,
  IdentityModule,
  AlertsModule,
  ReconciliationModule,
  ProjectionsModule,
  IntegrityModule,
  HealthModule,
  MetricsModule,
  ApprovalsModule,
  StreamsModule,
  QueriesModule,
  ErasureModule,
  AuditAccessModule,
] as const;

/** The controllers a module declares (its `@Module({ controllers })`). */
export function controllersOf(module: Type): Type[] {
  return (Reflect.getMetadata(MODULE_METADATA.CONTROLLERS, module) as Type[] | undefined) ?? [];
}

/** Every controller of the ledger: each of their routes and message patterns declares its access (identity/access.ts). */
export const LEDGER_CONTROLLERS: readonly Type[] = FEATURE_MODULES.flatMap(controllersOf);

/**
 * The ledger app: the core (opened by the bootstrap and handed in), the feature modules, and what applies to every
 * route and message pattern (the access guard, the call context, tracing and read auditing, the error filter).
 */
@Module({})
export class AppModule {
  static register(core: LedgerCore): DynamicModule {
    return {
      module: AppModule,
      imports: [CoreModule.forRoot(core), CqrsModule.forRoot(), ...FEATURE_MODULES],
      providers: [
        { provide: APP_FILTER, useClass: LedgerExceptionFilter },
        { provide: APP_GUARD, useClass: AccessGuard },
        { provide: APP_INTERCEPTOR, useClass: CallContextInterceptor },
        { provide: APP_INTERCEPTOR, useClass: TracingInterceptor },
        { provide: APP_INTERCEPTOR, useClass: AuditAccessInterceptor },
        HttpDrain,
      ],
    };
  }
}
