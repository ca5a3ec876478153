// The offline bundle checker, for the CLI (which reaches the integrity library through the ledger package).
export {
  verifyEvidenceBundle,
  EVIDENCE_BUNDLE_FORMAT,
  RANGE_EVIDENCE_BUNDLE_FORMAT,
  type BundleReport,
  type BundleProblem,
  type EvidenceBundle,
  type RangeEvidenceBundle,
} from '@audit-ledger/integrity';
