export * from './archive.service.js';
export * from './archive-chain.js';
export * from './archive-sql.js';
export { ArchiveRefusedError } from './archive-writer.js';
export * from './verify-archived-ledger.js';
export { connectArchiveStore, principalOfApiKey } from './archive-principal.js';
export { partitionStartsReader } from './partition-starts.js';
export { checkArchiveFileFast, type CheckedArchiveFile } from './archive-file-fast-check.js';
