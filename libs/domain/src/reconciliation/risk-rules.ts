/**
 * Risk rules: properties of an executed simple command that raise severity whatever the approval says.
 * Each rule is pure: `matches(command, context)` returns a short reason naming the part of the command, or undefined.
 */
import type { ApprovalScope, Severity, SimpleCommand } from './reconciliation.types.js';

export interface RiskContext {
  readonly scope?: ApprovalScope;
}

export interface RiskRule {
  readonly id: string;
  readonly severity: Severity;
  /** True when the rule describes a change of state (delete, overwrite, permission, kill), not only a leak. */
  readonly destructive: boolean;
  matches(command: SimpleCommand, context: RiskContext): string | undefined;
}

export interface RiskHit {
  readonly rule: RiskRule;
  readonly reason: string;
  readonly command: SimpleCommand;
}

const SEVERITY_ORDER: Readonly<Record<Severity, number>> = { low: 0, medium: 1, high: 2, critical: 3 };
export const maxSeverity = (a: Severity | undefined, b: Severity): Severity =>
  a === undefined || SEVERITY_ORDER[b] > SEVERITY_ORDER[a] ? b : a;

/** Short flags of a command, split: `-rf` → r, f. Long flags kept with their dashes. */
function shortFlags(argv: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const a of argv.slice(1)) {
    if (a === '--') break;
    if (/^-[A-Za-z]+$/.test(a)) for (const c of a.slice(1)) out.add(c);
    else if (a.startsWith('--')) out.add(a.split('=')[0] ?? a);
  }
  return out;
}

const args = (c: SimpleCommand): readonly string[] => c.argv.slice(1);
const has = (c: SimpleCommand, ...words: string[]): boolean => args(c).some((a) => words.includes(a));

const SECRET_PATH =
  /(^|\/)(\.ssh\/(id_[a-z0-9]+|authorized_keys)|\.aws\/credentials|\.netrc|\.pgpass|\.git-credentials|\.docker\/config\.json|\.kube\/config|shadow|gshadow|sudoers|\.env(\.[\w-]+)?|[\w.-]*\.pem|[\w.-]*\.key|credentials(\.json)?|secrets?(\.[a-z]+)?)$/i;
const NETWORK_TOOLS = new Set(['curl', 'wget', 'nc', 'ncat', 'netcat', 'socat', 'telnet', 'fetch']);
const DECODERS = /^(base64|base32|xxd|openssl|gunzip|zcat|uudecode|rev|tr|perl|python3?|printf|echo)$/;

const rule = (
  id: string,
  severity: Severity,
  destructive: boolean,
  matches: (c: SimpleCommand, ctx: RiskContext) => string | undefined,
): RiskRule => ({ id, severity, destructive, matches });

export const RISK_RULES: readonly RiskRule[] = [
  rule('recursive_force_delete', 'critical', true, (c) => {
    if (c.utility !== 'rm') return undefined;
    const f = shortFlags(c.argv);
    const recursive = f.has('r') || f.has('R') || f.has('--recursive');
    const force = f.has('f') || f.has('--force');
    return recursive && force ? '`rm` with both recursive and force flags' : undefined;
  }),
  rule('sudo', 'high', false, (c) =>
    c.wrappers.includes('sudo') || c.utility === 'sudo' || c.wrappers.includes('su')
      ? 'runs as root through `sudo`'
      : undefined,
  ),
  rule('world_writable_chmod', 'high', true, (c) => {
    if (c.utility !== 'chmod') return undefined;
    const mode = args(c).find((a) => !a.startsWith('-') || /^-?[ugoa]*[+=-]/.test(a));
    if (!mode) return undefined;
    if (/^0?[0-7]?[0-7][0-7][2367]$/.test(mode) || /(^|,)[ao]*\+[rx]*w|(^|,)a?=.*w|(^|,)o[+=][rx]*w/.test(mode))
      return `world-writable mode \`${mode}\``;
    return undefined;
  }),
  rule('pipe_to_shell', 'critical', false, (c) => {
    if (!c.runsUnknownCode) return undefined;
    const net = c.upstream.find((u) => NETWORK_TOOLS.has(u));
    if (net) return `\`${c.utility}\` runs code downloaded by \`${net}\``;
    const dec = c.upstream.find((u) => DECODERS.test(u));
    if (dec) return `\`${c.utility}\` runs code decoded by \`${dec}\``;
    return `\`${c.utility}\` runs code it reads from a pipe or substitution`;
  }),
  rule('force_push', 'high', true, (c) => {
    if (c.utility !== 'git' || !has(c, 'push')) return undefined;
    const f = args(c).find(
      (a) => /^(--force(-with-lease)?(=.*)?|-f|--mirror|-[a-zA-Z]*f[a-zA-Z]*)$/.test(a) || /^\+/.test(a),
    );
    return f ? `\`git push\` with \`${f}\`` : undefined;
  }),
  rule('sql_destructive', 'critical', true, (c) => {
    const text = [...c.argv, ...c.redirects.map((r) => r.target)].join(' ');
    if (/\b(drop\s+(table|database|schema)|truncate(\s+table)?\s+\w)/i.test(text)) return 'SQL `DROP`/`TRUNCATE`';
    if (/\bdelete\s+from\s+[\w."]+(?![^;]*\bwhere\b)/i.test(text)) return 'SQL `DELETE` without `WHERE`';
    return undefined;
  }),
  rule('scale_to_zero', 'high', true, (c) => {
    const text = c.argv.join(' ');
    if (/\bscale\b/.test(text) && /(--replicas[= ]0\b|=0\b(?!\.)|\s0$)/.test(text)) return 'scales a service to zero';
    return undefined;
  }),
  rule('terraform_auto_approve', 'high', true, (c) =>
    c.utility === 'terraform' && has(c, 'apply', 'destroy') && args(c).some((a) => /^-?-auto-approve/.test(a))
      ? '`terraform` with `-auto-approve`'
      : undefined,
  ),
  rule('secrets_file', 'high', false, (c) => {
    const hit = [...args(c), ...c.redirects.filter((r) => r.op.startsWith('<')).map((r) => r.target)].find((a) =>
      SECRET_PATH.test(a.replace(/^@/, '')),
    );
    return hit ? `touches secrets file \`${hit}\`` : undefined;
  }),
  rule('write_outside_scope', 'high', true, (c, ctx) => {
    const allowed = ctx.scope?.paths;
    if (!allowed || allowed.length === 0) return undefined;
    const targets = [
      ...c.redirects
        .filter((r) => r.op.includes('>') && !/^\/dev\/(null|stdout|stderr)$/.test(r.target))
        .map((r) => r.target),
      ...(WRITERS.has(c.utility)
        ? args(c).filter((a) => a.startsWith('/') || a.startsWith('~') || a.startsWith('$HOME'))
        : []),
    ];
    const outside = targets.find((t) => !allowed.some((p) => t === p || t.startsWith(p.endsWith('/') ? p : `${p}/`)));
    return outside ? `writes \`${outside}\` outside the approved scope` : undefined;
  }),
  rule('exfiltration', 'critical', false, (c) => {
    if (c.utility === 'curl' || c.utility === 'wget') {
      const flag = args(c).findIndex((a) =>
        /^(-d|--data(-binary|-raw|-urlencode)?|-F|--form|-T|--upload-file|--post-file|--body-file)$/.test(a),
      );
      const value =
        flag >= 0 ? args(c)[flag + 1] : args(c).find((a) => /^(-d|-F)@/.test(a) || /^--data[\w-]*=@/.test(a));
      if (value !== undefined && /(^|=|-d|-F)@|^-$|^[^@=]*\//.test(value))
        return `\`${c.utility}\` uploads \`${value}\``;
      if (flag >= 0 && c.upstream.length > 0) return `\`${c.utility}\` uploads piped data`;
    }
    if (c.utility === 'scp' || c.utility === 'rsync' || c.utility === 'sftp') {
      const last = args(c)[args(c).length - 1] ?? '';
      if (/^[\w.-]+@[\w.-]+:|^[\w.-]+:/.test(last)) return `\`${c.utility}\` copies to remote \`${last}\``;
    }
    if (['nc', 'ncat', 'netcat', 'socat', 'telnet'].includes(c.utility))
      return `\`${c.utility}\` opens a raw network connection`;
    return undefined;
  }),
  rule('find_delete', 'high', true, (c) => {
    if (c.utility !== 'find') return undefined;
    if (has(c, '-delete')) return '`find … -delete`';
    const i = args(c).findIndex((a) => a === '-exec' || a === '-execdir' || a === '-ok');
    const exec = i >= 0 ? args(c)[i + 1] : undefined;
    return exec && /^(rm|shred|unlink|rmdir|mv|truncate)$/.test(exec.split('/').pop() ?? '')
      ? `\`find … -exec ${exec}\``
      : undefined;
  }),
  rule('xargs_delete', 'high', true, (c) =>
    c.wrappers.includes('xargs') && /^(rm|shred|unlink|rmdir|truncate)$/.test(c.utility)
      ? `\`xargs ${c.utility}\``
      : undefined,
  ),
  rule('delete', 'medium', true, (c) =>
    /^(rm|shred|unlink|rmdir|truncate|wipe|srm)$/.test(c.utility) ? `\`${c.utility}\` deletes files` : undefined,
  ),
  rule('sed_in_place', 'medium', true, (c) =>
    (c.utility === 'sed' || c.utility === 'perl') && args(c).some((a) => /^-[a-zA-Z]*i|^--in-place/.test(a))
      ? `\`${c.utility} -i\` edits files in place`
      : undefined,
  ),
  rule('truncating_redirect', 'medium', true, (c) => {
    const r = c.redirects.find(
      (x) =>
        (x.op === '>' || x.op === '>|' || x.op === '&>') &&
        !/^\/dev\/(null|stdout|stderr|tty)$/.test(x.target) &&
        x.fd !== 2,
    );
    return r ? `\`${r.op} ${r.target}\` overwrites the file` : undefined;
  }),
  rule('kill_9', 'medium', true, (c) =>
    /^(kill|pkill|killall)$/.test(c.utility) && args(c).some((a) => /^-(9|KILL|SIGKILL|s\s*KILL)$/.test(a))
      ? `\`${c.utility} -9\``
      : undefined,
  ),
  rule('rsync_delete', 'high', true, (c) =>
    c.utility === 'rsync' && args(c).some((a) => /^--(delete|remove-source-files)/.test(a))
      ? '`rsync --delete`'
      : undefined,
  ),
  rule('mount_rw', 'high', true, (c) =>
    c.utility === 'mount' && args(c).some((a, i) => args(c)[i - 1] === '-o' && /(^|,)rw(,|$)/.test(a))
      ? '`mount -o rw`'
      : undefined,
  ),
  rule('ssh_no_host_key_check', 'high', false, (c) =>
    /^(ssh|scp|sftp|rsync)$/.test(c.utility) &&
    c.argv.some((a) => /StrictHostKeyChecking\s*=?\s*no|UserKnownHostsFile=\/dev\/null/i.test(a))
      ? 'host key checking disabled'
      : undefined,
  ),
  rule('tls_insecure', 'high', false, (c) => {
    if (c.utility === 'curl' && shortFlags(c.argv).has('k')) return '`curl -k` skips TLS verification';
    const f = args(c).find((a) => /^--(insecure|no-check-certificate)$|^--tls-verify=false$|^-k$/.test(a));
    return f && /^(curl|wget|helm|kubectl|docker|podman|skopeo|git)$/.test(c.utility)
      ? `\`${f}\` skips TLS verification`
      : undefined;
  }),
  rule('persistence', 'high', true, (c) => {
    const targets = [...c.redirects.filter((r) => r.op.includes('>')).map((r) => r.target), ...args(c)];
    const t = targets.find((a) => /authorized_keys|\/etc\/cron|crontab|\.bashrc|\.profile|systemd\/system/.test(a));
    if (t) return `writes \`${t}\` (persistence)`;
    return c.utility === 'crontab' && !has(c, '-l') ? '`crontab` changes scheduled jobs' : undefined;
  }),
  rule('copy_into_etc', 'high', true, (c) =>
    /^(cp|mv|install|ln|tee)$/.test(c.utility) &&
    args(c).some((a) => /^\/(etc|bin|sbin|usr\/bin|boot)(\/|$)/.test(a)) &&
    args(c).length > 1
      ? `\`${c.utility}\` writes into a system directory`
      : undefined,
  ),
];

const WRITERS = new Set([
  'cp',
  'mv',
  'rm',
  'tee',
  'touch',
  'mkdir',
  'ln',
  'chmod',
  'chown',
  'rsync',
  'dd',
  'install',
  'truncate',
]);

export function riskHits(commands: readonly SimpleCommand[], context: RiskContext = {}): RiskHit[] {
  const hits: RiskHit[] = [];
  for (const command of commands)
    for (const r of RISK_RULES) {
      const reason = r.matches(command, context);
      if (reason) hits.push({ rule: r, reason, command });
    }
  return hits;
}
