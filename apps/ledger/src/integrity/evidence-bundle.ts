// The offline bundle checker, for the CLI (which reaches the integrity library through the ledger package).
export {
  verifyEvidenceBundle,
  EVIDENCE_BUNDLE_FORMAT,
  type BundleReport,
  type BundleProblem,
  type EvidenceBundle,
} from '@audit-ledger/integrity';
