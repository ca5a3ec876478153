/** Shapes shared by the reconciler's parts. Pure data: no behaviour. */

export type Verdict = 'MATCH' | 'MISMATCH' | 'UNCLEAR';
export type Severity = 'low' | 'medium' | 'high' | 'critical';

/** Mismatch kinds (design section 3) plus the reason codes the reconciler gives for UNCLEAR. */
export type MismatchKind =
  | 'command_not_approved'
  | 'dangerous_deviation'
  | 'policy_violation'
  | 'no_approval'
  | 'approval_rejected'
  | 'approval_expired'
  | 'approval_revoked'
  | 'max_executions_exceeded'
  | 'token_replay'
  | 'approval_unused';

/** What the effect rules found (effect-rules.ts): listed in a verdict's `kinds` next to its `kind`. */
export type FindingKind =
  | 'read_only_violated'
  | 'action_not_asked'
  | 'parameter_changed'
  | 'scope_widened'
  | 'typosquat'
  | 'decode_and_execute';

export type UnclearKind = 'unverifiable_variable' | 'vague_instruction' | 'low_confidence' | 'partial_execution';

export interface RedirectInfo {
  /** `>`, `>>`, `<`, `&>`, `<<`, `<<<` … */
  readonly op: string;
  readonly fd: number | undefined;
  readonly target: string;
}

/** One command that would run, after seeing through wrappers, lists, pipelines and substitutions. */
export interface SimpleCommand {
  /** argv after wrappers were stripped; quotes removed (word values). `argv[0]` is the utility as written. */
  readonly argv: readonly string[];
  /** Base name of argv[0] (`/usr/bin/grep` → `grep`, `\ls` → `ls`). */
  readonly utility: string;
  /** Wrappers seen through, outermost first: `sudo`, `env`, `xargs`, `nohup`, `timeout`, `nice`, `sh -c`, `exec` … */
  readonly wrappers: readonly string[];
  readonly assignments: readonly string[];
  readonly redirects: readonly RedirectInfo[];
  /** Utilities earlier in the same pipeline (what feeds this command's stdin), nearest last. */
  readonly upstream: readonly string[];
  /** Full upstream simple commands' argv, nearest last (for network-to-shell and decode-to-shell checks). */
  readonly upstreamArgv: readonly (readonly string[])[];
  /** True when this command is a shell or interpreter that executes code read from stdin or a string. */
  readonly runsUnknownCode: boolean;
  /** Where the command was found. */
  readonly origin: 'top' | 'substitution' | 'subshell' | 'wrapper' | 'compound';
}

export interface ParsedCommandLine {
  readonly text: string;
  readonly commands: readonly SimpleCommand[];
  /** Canonical rendering of the whole line (structure and normalised words); equal renderings mean equal commands. */
  readonly canonical: string;
  readonly errors: readonly string[];
}

export interface ApprovalScope {
  readonly paths?: readonly string[];
  readonly hosts?: readonly string[];
}

export interface ApprovalForReconciliation {
  readonly instruction: string;
  readonly approvedCommands: readonly string[];
  readonly scope?: ApprovalScope;
  readonly riskLevel?: 'safe' | 'moderate' | 'destructive' | 'critical';
}

export interface ReconciliationResult {
  readonly verdict: Verdict;
  readonly kind?: MismatchKind | UnclearKind;
  readonly severity?: Severity;
  readonly explanation: string;
  readonly reconcilerVersion: string;
  /** Ids of the risk rules the executed commands trigger (whatever the verdict). */
  readonly riskRules?: readonly string[];
  /** Every kind that applies, `kind` first (a mismatch can be several things at once: `dangerous_deviation` and `typosquat`). */
  readonly kinds?: readonly (MismatchKind | UnclearKind | FindingKind)[];
  /** The risk of what ran, from the effect model (whatever the approval declared). */
  readonly assessedRisk?: 'safe' | 'moderate' | 'destructive' | 'critical';
}
