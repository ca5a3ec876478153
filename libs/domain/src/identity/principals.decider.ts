import { LedgerError } from '../shared/ledger-error.js';
import type { ApiKeyIssuedData, ApiKeyRevokedData, PrincipalsStreamEvent } from './api-key.events.js';
import { isRole, type Role } from './roles.js';

// The decider of the `principals` stream. Key material (id, hash) is made by the caller; time arrives on the command.

export type PrincipalsCommand =
  | {
      type: 'IssueApiKey';
      data: { keyId: string; name: string; roles: readonly string[]; keyHash: string };
      now: string;
    }
  | { type: 'RotateApiKey'; data: { keyId: string; newKeyId: string; keyHash: string; reason?: string }; now: string }
  | { type: 'RevokeApiKey'; data: { keyId: string; reason?: string }; now: string };

export interface ApiKeyState {
  keyId: string;
  name: string;
  roles: readonly string[];
  keyHash: string;
  issuedAt: string;
  rotatedFrom?: string;
  revokedAt?: string;
}

export interface PrincipalsState {
  /** Every key ever issued, by key id, revoked ones included. */
  keys: ReadonlyMap<string, ApiKeyState>;
}

export class ApiKeyNameTakenError extends LedgerError {
  readonly code = 'PRINCIPALS.NAME_TAKEN';
  constructor(
    readonly keyName: string,
    readonly keyId: string,
  ) {
    super(`An active key is already named ${keyName} (key ${keyId}): revoke or rotate it instead`);
  }
}

export class ApiKeyNotFoundError extends LedgerError {
  readonly code = 'PRINCIPALS.KEY_NOT_FOUND';
  constructor(readonly keyId: string) {
    super(`No API key ${keyId} was ever issued`);
  }
}

export class ApiKeyAlreadyRevokedError extends LedgerError {
  readonly code = 'PRINCIPALS.KEY_REVOKED';
  constructor(
    readonly keyId: string,
    readonly revokedAt: string,
  ) {
    super(`API key ${keyId} was already revoked at ${revokedAt}`);
  }
}

export class UnknownRoleError extends LedgerError {
  readonly code = 'PRINCIPALS.UNKNOWN_ROLE';
  constructor(readonly roles: readonly string[]) {
    super(
      roles.length === 0
        ? 'A key needs at least one role'
        : `Unknown role${roles.length > 1 ? 's' : ''} ${roles.join(', ')}: roles are gateway, reader, security, admin`,
    );
  }
}

export class ApiKeyIdTakenError extends LedgerError {
  readonly code = 'PRINCIPALS.KEY_ID_TAKEN';
  constructor(readonly keyId: string) {
    super(`API key id ${keyId} is already used: issue again (a new id is drawn)`);
  }
}

export const initialPrincipalsState = (): PrincipalsState => ({ keys: new Map() });

export function evolvePrincipals(state: PrincipalsState, event: PrincipalsStreamEvent): PrincipalsState {
  const keys = new Map(state.keys);
  switch (event.type) {
    case 'ApiKeyIssued': {
      const { keyId, name, roles, keyHash, issuedAt, rotatedFrom } = event.data;
      keys.set(keyId, { keyId, name, roles, keyHash, issuedAt, ...(rotatedFrom ? { rotatedFrom } : {}) });
      break;
    }
    case 'ApiKeyRevoked': {
      const key = keys.get(event.data.keyId);
      if (key) keys.set(key.keyId, { ...key, revokedAt: event.data.revokedAt });
      break;
    }
  }
  return { keys };
}

/** The active key holding `name`, if any. */
export function activeKeyNamed(state: PrincipalsState, name: string): ApiKeyState | undefined {
  return [...state.keys.values()].find((key) => key.name === name && key.revokedAt === undefined);
}

/** The events a command produces, or the error that refuses it (refusals are never retries: keys are one-off). */
export function decidePrincipals(command: PrincipalsCommand, state: PrincipalsState): PrincipalsStreamEvent[] {
  switch (command.type) {
    case 'IssueApiKey': {
      const { keyId, name, roles, keyHash } = command.data;
      const valid = validRoles(roles);
      const holder = activeKeyNamed(state, name);
      if (holder) throw new ApiKeyNameTakenError(name, holder.keyId);
      if (state.keys.has(keyId)) throw new ApiKeyIdTakenError(keyId);
      return [{ type: 'ApiKeyIssued', data: { keyId, name, roles: valid, keyHash, issuedAt: command.now } }];
    }
    case 'RotateApiKey': {
      const { keyId, newKeyId, keyHash, reason } = command.data;
      const old = activeKey(state, keyId);
      if (state.keys.has(newKeyId)) throw new ApiKeyIdTakenError(newKeyId);
      const issued: ApiKeyIssuedData = {
        keyId: newKeyId,
        name: old.name,
        roles: [...old.roles],
        keyHash,
        issuedAt: command.now,
        rotatedFrom: keyId,
      };
      return [
        { type: 'ApiKeyIssued', data: issued },
        { type: 'ApiKeyRevoked', data: revoked(keyId, command.now, reason ?? `rotated to ${newKeyId}`) },
      ];
    }
    case 'RevokeApiKey': {
      const { keyId, reason } = command.data;
      activeKey(state, keyId);
      return [{ type: 'ApiKeyRevoked', data: revoked(keyId, command.now, reason) }];
    }
  }
}

function activeKey(state: PrincipalsState, keyId: string): ApiKeyState {
  const key = state.keys.get(keyId);
  if (!key) throw new ApiKeyNotFoundError(keyId);
  if (key.revokedAt !== undefined) throw new ApiKeyAlreadyRevokedError(keyId, key.revokedAt);
  return key;
}

function validRoles(roles: readonly string[]): Role[] {
  const unknown = roles.filter((role) => !isRole(role));
  if (roles.length === 0 || unknown.length > 0) throw new UnknownRoleError(unknown);
  return [...new Set(roles as readonly Role[])];
}

const revoked = (keyId: string, revokedAt: string, reason: string | undefined): ApiKeyRevokedData => ({
  keyId,
  revokedAt,
  ...(reason === undefined ? {} : { reason }),
});

export const principalsDecider = {
  decide: decidePrincipals,
  evolve: evolvePrincipals,
  initialState: initialPrincipalsState,
};
