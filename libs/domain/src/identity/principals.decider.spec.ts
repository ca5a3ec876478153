import {
  ApiKeyIssuedData,
  ApiKeyRevokedData,
  parsePrincipalsEvent,
  type PrincipalsStreamEvent,
} from './api-key.events.js';
import {
  ApiKeyAlreadyRevokedError,
  ApiKeyIdTakenError,
  ApiKeyNameTakenError,
  ApiKeyNotFoundError,
  evolvePrincipals,
  initialPrincipalsState,
  principalsDecider,
  UnknownRoleError,
  type PrincipalsCommand,
} from './principals.decider.js';
import { DeciderSpecification } from '../testing/decider-specification.js';

const now = '2026-12-07T08:00:00.000Z';
const later = '2026-12-07T09:00:00.000Z';
const hashA = 'a'.repeat(64);
const hashB = 'b'.repeat(64);

const issued = (keyId: string, name: string, roles: string[] = ['gateway']): PrincipalsStreamEvent => ({
  type: 'ApiKeyIssued',
  data: { keyId, name, roles, keyHash: hashA, issuedAt: now },
});
const revokedEvent = (keyId: string): PrincipalsStreamEvent => ({
  type: 'ApiKeyRevoked',
  data: { keyId, revokedAt: now },
});

const spec = DeciderSpecification.for(principalsDecider);

const issue = (name: string, roles: string[], keyId = 'k00000000002'): PrincipalsCommand => ({
  type: 'IssueApiKey',
  data: { keyId, name, roles, keyHash: hashB },
  now: later,
});

describe('principals decider', () => {
  describe('IssueApiKey', () => {
    it('issues a key with its hash and roles, stamped with the command time', () => {
      spec
        .given([])
        .when(issue('gw-prod', ['gateway', 'reader']))
        .then([
          {
            type: 'ApiKeyIssued',
            data: {
              keyId: 'k00000000002',
              name: 'gw-prod',
              roles: ['gateway', 'reader'],
              keyHash: hashB,
              issuedAt: later,
            },
          },
        ]);
    });
    it('records each role once', () => {
      const [event] = spec
        .given([])
        .when(issue('gw', ['gateway', 'gateway']))
        .events();
      expect(event?.type === 'ApiKeyIssued' && event.data.roles).toEqual(['gateway']);
    });
    it('refuses a name an active key holds, naming that key', () => {
      spec
        .given([issued('k00000000001', 'gw-prod')])
        .when(issue('gw-prod', ['gateway']))
        .thenThrows(ApiKeyNameTakenError, (error) =>
          expect(error.message).toBe(new ApiKeyNameTakenError('gw-prod', 'k00000000001').message),
        );
    });
    it('allows the name of a revoked key again', () => {
      const events = [issued('k00000000001', 'gw-prod'), revokedEvent('k00000000001')];
      expect(
        spec
          .given(events)
          .when(issue('gw-prod', ['gateway']))
          .events(),
      ).toHaveLength(1);
    });
    it('refuses unknown roles, naming them', () => {
      spec
        .given([])
        .when(issue('gw', ['gateway', 'root', 'god']))
        .thenThrows(UnknownRoleError, (error) => expect(error.message).toMatch(/root, god/));
    });
    it('refuses a key without roles', () => {
      spec
        .given([])
        .when(issue('gw', []))
        .thenThrows(UnknownRoleError, (error) => expect(error.message).toMatch(/at least one role/));
    });
    it('refuses a key id already used', () => {
      spec
        .given([issued('k00000000002', 'other')])
        .when(issue('gw', ['reader']))
        .thenThrows(ApiKeyIdTakenError);
    });
  });

  describe('RevokeApiKey', () => {
    const revoke = (keyId: string, reason?: string): PrincipalsCommand => ({
      type: 'RevokeApiKey',
      data: { keyId, ...(reason ? { reason } : {}) },
      now: later,
    });
    it('revokes an active key with the reason given', () => {
      spec
        .given([issued('k00000000001', 'gw')])
        .when(revoke('k00000000001', 'leaked'))
        .then([{ type: 'ApiKeyRevoked', data: { keyId: 'k00000000001', revokedAt: later, reason: 'leaked' } }]);
    });
    it('refuses an unknown key', () => {
      spec
        .given([])
        .when(revoke('k00000000001'))
        .thenThrows(ApiKeyNotFoundError, (error) =>
          expect(error.message).toBe(new ApiKeyNotFoundError('k00000000001').message),
        );
    });
    it('refuses a key revoked before, saying when', () => {
      const events = [issued('k00000000001', 'gw'), revokedEvent('k00000000001')];
      spec
        .given(events)
        .when(revoke('k00000000001'))
        .thenThrows(ApiKeyAlreadyRevokedError, (error) => expect(error.message).toContain(now));
    });
  });

  describe('RotateApiKey', () => {
    const rotate = (keyId: string): PrincipalsCommand => ({
      type: 'RotateApiKey',
      data: { keyId, newKeyId: 'k00000000009', keyHash: hashB },
      now: later,
    });
    it('issues a successor with the same name and roles and revokes the old key, in one decision', () => {
      spec
        .given([issued('k00000000001', 'gw', ['gateway', 'reader'])])
        .when(rotate('k00000000001'))
        .then([
          {
            type: 'ApiKeyIssued',
            data: {
              keyId: 'k00000000009',
              name: 'gw',
              roles: ['gateway', 'reader'],
              keyHash: hashB,
              issuedAt: later,
              rotatedFrom: 'k00000000001',
            },
          },
          {
            type: 'ApiKeyRevoked',
            data: { keyId: 'k00000000001', revokedAt: later, reason: 'rotated to k00000000009' },
          },
        ]);
    });
    it('refuses an unknown or revoked key', () => {
      spec.given([]).when(rotate('k00000000001')).thenThrows(ApiKeyNotFoundError);
      const events = [issued('k00000000001', 'gw'), revokedEvent('k00000000001')];
      spec.given(events).when(rotate('k00000000001')).thenThrows(ApiKeyAlreadyRevokedError);
    });
  });

  describe('evolve', () => {
    it('keeps revoked keys, marked with when', () => {
      const state = [issued('k00000000001', 'gw'), revokedEvent('k00000000001')].reduce(
        evolvePrincipals,
        initialPrincipalsState(),
      );
      expect(state.keys.get('k00000000001')).toMatchObject({ name: 'gw', revokedAt: now });
    });
  });
});

describe('principals events', () => {
  it('validate what is stored: a 64-hex hash, a 12-character id, a name without a slash', () => {
    expect(() => ApiKeyIssuedData.parse({ ...issued('k00000000001', 'gw').data, keyHash: 'nothex' })).toThrow();
    expect(() => ApiKeyIssuedData.parse({ ...issued('short', 'gw').data })).toThrow();
    expect(() => ApiKeyIssuedData.parse({ ...issued('k00000000001', 'a/b').data })).toThrow();
    expect(() => ApiKeyRevokedData.parse({ keyId: 'k00000000001', revokedAt: now, extra: 1 })).toThrow();
  });
  it('parse known types and skip unknown ones', () => {
    expect(parsePrincipalsEvent('ApiKeyRevoked', { keyId: 'k00000000001', revokedAt: now })).toEqual(
      revokedEvent('k00000000001'),
    );
    expect(parsePrincipalsEvent('SomethingNew', {})).toBeUndefined();
  });
});
