import { Global, Module } from '@nestjs/common';
import { AuditAccessRecorder } from './audit-access.recorder.js';

/**
 * Records who read what: the global AuditAccessInterceptor (registered by the AppModule) and the routes that record
 * their own reads (verification runs) call the recorder. Global, like the interceptor.
 */
@Global()
@Module({ providers: [AuditAccessRecorder], exports: [AuditAccessRecorder] })
export class AuditAccessModule {}
