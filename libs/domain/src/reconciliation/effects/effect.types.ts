/** What a command does, as the effect model sees it. Pure data. */

/** Ordered from harmless to worst; `EFFECT_RANK` gives the order. */
export type EffectClass =
  | 'read-only'
  | 'network-egress'
  | 'create'
  | 'modify'
  | 'restart'
  | 'scale'
  | 'exec-remote'
  | 'privilege'
  | 'delete'
  | 'destroy-data';

export const EFFECT_RANK: Readonly<Record<EffectClass, number>> = {
  'read-only': 0,
  'network-egress': 1,
  create: 2,
  modify: 3,
  restart: 3,
  scale: 3,
  'exec-remote': 4,
  // a modifier more than an effect: `sudo cat` still only reads
  privilege: 1,
  delete: 5,
  'destroy-data': 6,
};

/** One object; every object of a kind (or of a namespace, a selector, a pipe's output); the whole cluster/host/disk. */
export type BlastRadius = 'one' | 'all' | 'whole';

export const BLAST_RANK: Readonly<Record<BlastRadius, number>> = { one: 0, all: 1, whole: 2 };

export interface EffectTargets {
  /** Resources named (`deployment/web`, `web`, a service, a container, a chain, an S3 URL …). */
  readonly resources?: readonly string[];
  readonly namespace?: string;
  /** kube context, cluster, cloud profile/project/subscription, terraform workspace, inventory. */
  readonly context?: string;
  readonly hosts?: readonly string[];
  readonly paths?: readonly string[];
  readonly packages?: readonly string[];
  readonly replicas?: number;
  readonly version?: string;
  /** Minutes until it acts (`shutdown -r +10`: 10; `now`: 0). */
  readonly delayMinutes?: number;
}

export interface CommandEffect {
  /** The tool as the model knows it (`kubectl`, `docker compose`, `rm` …). */
  readonly tool: string;
  /** The action word that decided the class (`delete`, `rollout restart`, `-F` …). */
  readonly action: string;
  /** What it mainly does first, then what it also does (`network-egress`, `exec-remote`, `privilege`). */
  readonly classes: readonly EffectClass[];
  readonly targets: EffectTargets;
  readonly blast: BlastRadius;
  /** When the command runs another command (ssh, kubectl exec, ansible -a, xargs): that command's effect. */
  readonly inner?: CommandEffect;
}

/** The risk levels of an approval (`riskLevel`), assessed for what actually ran. */
export type AssessedRisk = 'safe' | 'moderate' | 'destructive' | 'critical';
