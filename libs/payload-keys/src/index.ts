export { DecryptingEventStore } from './decrypting-event-store.js';
export { MASTER_KEY_FILE, resolveMasterKey } from './master-key.js';
export { PayloadCipher, type PayloadEncryptionOptions } from './payload-cipher.js';
export { PayloadErasure, type ErasureOutcome } from './payload-erasure.js';
export { openPayloadKeys, type PayloadKeys, type PayloadKeysConfig } from './payload-keys.js';
export { scrubReadModels } from './read-model-scrub.js';
export { MasterKeyMismatchError, StreamKeys, type DataKey } from './stream-keys.js';
