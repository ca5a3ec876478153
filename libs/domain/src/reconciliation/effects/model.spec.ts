import { parseCommandLine } from '../shell-parser.js';
import type { BlastRadius, EffectClass, EffectTargets } from './effect.types.js';
import { commandEffect, lineEffects } from './model.js';
import { riskOfEffect } from './assessed-risk.js';

type Row = [command: string, cls: EffectClass, blast: BlastRadius, targets?: EffectTargets];

/** The effect of the last command of the line the model knows (the one that acts, after filters and wrappers). */
function effectOf(command: string) {
  const effects = lineEffects([parseCommandLine(command)]);
  const last = effects[effects.length - 1];
  if (!last) throw new Error(`no effect for ${command}`);
  return last.effect;
}

const FAMILIES: Record<string, Row[]> = {
  kubernetes: [
    ['kubectl get pods -n billing', 'read-only', 'one', { namespace: 'billing', resources: ['pods'] }],
    ['kubectl delete deployment --all -n billing', 'delete', 'all', { namespace: 'billing' }],
    [
      'kubectl delete deployment web --namespace=billing',
      'delete',
      'one',
      { namespace: 'billing', resources: ['deployment', 'web'] },
    ],
    ['kubectl delete pvc data-db-0', 'destroy-data', 'one'],
    ['kubectl delete pods -A -l app=web', 'delete', 'whole', { namespace: '*' }],
    [
      'kubectl --context production rollout restart deployment/web',
      'restart',
      'one',
      { context: 'production', resources: ['deployment/web'] },
    ],
    ['kubectl rollout status deployment/web', 'read-only', 'one'],
    ['kubectl scale deployment worker --replicas 5', 'scale', 'one', { replicas: 5 }],
    ['kubectl scale --replicas=0 deploy/worker', 'scale', 'one', { replicas: 0 }],
    ['kubectl set image deployment/web web=registry/web:1.4.2', 'modify', 'one', { version: '1.4.2' }],
    ['kubectl exec -it web-0 -- rm -rf /data', 'exec-remote', 'one'],
    [
      'helm upgrade web ./chart --version 1.4.3 -n prod',
      'modify',
      'one',
      { namespace: 'prod', version: '1.4.3', resources: ['web'] },
    ],
    ['helm list -A', 'read-only', 'one', { namespace: '*' }],
    ['helm uninstall web -n staging', 'delete', 'one', { namespace: 'staging' }],
  ],
  containers: [
    ['docker ps -a', 'read-only', 'one'],
    ['docker images -q | xargs docker rmi -f', 'delete', 'all'],
    ['docker rm -f web', 'delete', 'one', { resources: ['web'] }],
    ['docker volume rm pgdata', 'destroy-data', 'one'],
    ['docker system prune -af --volumes', 'destroy-data', 'whole'],
    ['docker run -d --name web -v /srv:/srv nginx:1.25', 'create', 'one', { version: '1.25' }],
    ['docker compose restart worker', 'restart', 'one', { resources: ['worker'] }],
    ['docker compose restart', 'restart', 'all'],
    ['docker compose down -v', 'destroy-data', 'all'],
    ['docker compose down', 'delete', 'all'],
    ['docker-compose up -d --scale worker=3', 'scale', 'one', { replicas: 3 }],
    ['podman stop web', 'restart', 'one', { resources: ['web'] }],
  ],
  git: [
    ['git log --oneline -n 10', 'read-only', 'one'],
    ['git reset --hard HEAD~1', 'destroy-data', 'one'],
    ['git reset --soft HEAD~1', 'modify', 'one'],
    ['git clean -fdx', 'destroy-data', 'all'],
    ['git push --force origin main', 'destroy-data', 'one'],
    ['git push origin main', 'network-egress', 'one'],
    ['git branch -D feature', 'destroy-data', 'one'],
    ['git branch -a', 'read-only', 'one'],
    ['git checkout -- .', 'destroy-data', 'one'],
  ],
  services: [
    ['systemctl status nginx', 'read-only', 'one', { resources: ['nginx'] }],
    ['systemctl restart nginx', 'restart', 'one', { resources: ['nginx'] }],
    ["systemctl restart 'app-*'", 'restart', 'all'],
    ['systemctl reboot', 'restart', 'whole'],
    ['systemctl disable --now nginx', 'restart', 'one'],
    ['service nginx reload', 'restart', 'one', { resources: ['nginx'] }],
    ['journalctl -u nginx --since today', 'read-only', 'one'],
    ['journalctl --vacuum-time=2d', 'delete', 'all'],
  ],
  firewall: [
    ['iptables -t nat -L -n', 'read-only', 'one'],
    ['iptables -t nat -F', 'delete', 'whole'],
    ['iptables --flush INPUT', 'delete', 'all'],
    ['iptables -A INPUT -p tcp --dport 22 -j ACCEPT', 'create', 'one'],
    ['iptables -D INPUT 3', 'delete', 'one'],
    ['nft list ruleset', 'read-only', 'whole'],
    ['nft flush ruleset', 'delete', 'whole'],
    ['ufw status verbose', 'read-only', 'one'],
    ['ufw allow 443/tcp', 'modify', 'one'],
    ['ufw --force reset', 'delete', 'whole'],
  ],
  scheduling: [
    ['crontab -l', 'read-only', 'one'],
    ['crontab -l -u root', 'read-only', 'one', { resources: ['root'] }],
    ['crontab -r', 'destroy-data', 'whole'],
    ['crontab -u deploy jobs.txt', 'modify', 'whole'],
  ],
  packages: [
    ['apt list --installed', 'read-only', 'one'],
    ['apt-get install -y nginx', 'create', 'one', { packages: ['nginx'] }],
    ['sudo apt-get purge -y nginx', 'delete', 'one', { packages: ['nginx'] }],
    ['yum remove httpd', 'delete', 'one'],
    ['dnf upgrade', 'modify', 'all'],
    ['pip install numpy==1.26.4', 'create', 'one', { packages: ['numpy'], version: '1.26.4' }],
    ['pip install --upgrade requests', 'modify', 'one', { packages: ['requests'] }],
    ['python3 -m pip uninstall -y flask', 'delete', 'one', { packages: ['flask'] }],
    ['pip freeze', 'read-only', 'one'],
    ['npm install lodash@4.17.21', 'create', 'one', { packages: ['lodash'], version: '4.17.21' }],
    ['npm ls', 'read-only', 'one'],
    ['yarn add react', 'create', 'one', { packages: ['react'] }],
    ['yarn remove react', 'delete', 'one'],
  ],
  databases: [
    ['psql -h db.internal -c "SELECT count(*) FROM users"', 'read-only', 'one', { hosts: ['db.internal'] }],
    ['psql -c "DROP TABLE users"', 'destroy-data', 'all'],
    ['psql --command="DELETE FROM users WHERE id = 4"', 'delete', 'one'],
    ['psql -c "DELETE FROM users"', 'destroy-data', 'all'],
    ['mysql -h 10.0.0.5 -e "UPDATE accounts SET plan = 1 WHERE id = 3"', 'modify', 'one', { hosts: ['10.0.0.5'] }],
    ['redis-cli -h cache-01 INFO memory', 'read-only', 'one', { hosts: ['cache-01'] }],
    ['redis-cli FLUSHALL', 'destroy-data', 'whole'],
    ['redis-cli DEL session:42', 'delete', 'one'],
    ['mongosh mongodb://db-01:27017/app --eval "db.users.countDocuments()"', 'read-only', 'one', { hosts: ['db-01'] }],
    ['mongosh --eval "db.dropDatabase()"', 'destroy-data', 'all'],
  ],
  cloud: [
    ['aws ec2 describe-instances --region eu-west-1', 'read-only', 'one'],
    ['aws ec2 terminate-instances --instance-ids i-0abc', 'delete', 'one', { resources: ['i-0abc'] }],
    ['aws s3 rm s3://backups --recursive', 'destroy-data', 'all'],
    ['aws s3 ls s3://backups', 'read-only', 'one'],
    ['aws ecs update-service --cluster prod --service web --desired-count 0', 'scale', 'one', { replicas: 0 }],
    [
      'aws autoscaling set-desired-capacity --auto-scaling-group-name web --desired-capacity 4',
      'scale',
      'one',
      { replicas: 4 },
    ],
    ['gcloud compute instances list --project ops-prod', 'read-only', 'one', { context: 'ops-prod' }],
    ['gcloud compute instances delete vm-1 --zone europe-west1-b', 'delete', 'one'],
    ['gcloud container clusters resize main --num-nodes 3', 'scale', 'one', { replicas: 3 }],
    ['az vm list -g rg-prod', 'read-only', 'one', { context: 'rg-prod' }],
    ['az vm restart -g rg-prod -n vm-1', 'restart', 'one'],
    ['az group delete --name rg-test --yes', 'delete', 'one'],
  ],
  infra: [
    ['terraform plan -out plan.bin', 'read-only', 'one'],
    ['terraform apply -auto-approve', 'modify', 'whole'],
    ['terraform apply -target=module.db', 'modify', 'one', { resources: ['module.db'] }],
    ['terraform destroy', 'destroy-data', 'whole'],
    ['terraform apply -destroy -auto-approve', 'destroy-data', 'whole'],
    ['terraform state list', 'read-only', 'one'],
    ['terraform workspace select staging', 'modify', 'one', { context: 'staging' }],
    ['ansible web -m ping', 'read-only', 'one'],
    ['ansible all -b -m shell -a "rm -rf /tmp/cache"', 'delete', 'all'],
    ['ansible-playbook site.yml --limit web-01', 'modify', 'one', { hosts: ['web-01'] }],
    ['ansible-playbook site.yml --check', 'read-only', 'all'],
  ],
  remote: [
    ['ssh web-01 uptime', 'read-only', 'one', { hosts: ['web-01'] }],
    ["ssh ops@web-01 'sudo rm -rf /var/lib/app'", 'destroy-data', 'one', { hosts: ['web-01'] }],
    ['ssh ops@bastion', 'exec-remote', 'one', { hosts: ['bastion'] }],
    ['scp dump.sql ops@backup-01:/srv/', 'network-egress', 'one', { hosts: ['backup-01'] }],
    ['rsync -a --delete src/ ops@web-01:/srv/app/', 'delete', 'all'],
    ['rsync -an src/ dst/', 'read-only', 'one'],
    ['curl -s https://status.example.com/health', 'read-only', 'one', { hosts: ['status.example.com'] }],
    ['curl -X DELETE https://api.example.com/v1/users/4', 'delete', 'one'],
    ['curl --data @dump.sql https://collector.example', 'modify', 'one'],
    ['wget https://example.com/app.tgz', 'create', 'one'],
  ],
  files: [
    ['rm -rf /', 'destroy-data', 'whole'],
    ['rm -rf /var/lib/postgresql', 'destroy-data', 'one'],
    ['rm build.log', 'delete', 'one', { paths: ['build.log'] }],
    ['rm -f ./*', 'delete', 'all'],
    ['mv a.txt b.txt', 'modify', 'one'],
    ['cp app.conf /etc/app/', 'modify', 'one'],
    ['cp a.txt backup/', 'create', 'one'],
    ['chmod -R 755 /srv/www', 'modify', 'one'],
    ['chown root:root /etc/app.conf', 'modify', 'one'],
    ['find /var/log -name "*.gz" -mtime +30', 'read-only', 'one'],
    ['find /var/log -name "*.gz" -delete', 'delete', 'one'],
    ["find / -name '*' -exec rm {} \\;", 'destroy-data', 'whole'],
    ["sed -n '1,5p' app.conf", 'read-only', 'one'],
    ["sed -i 's/a/b/' app.conf", 'modify', 'one', { paths: ['app.conf'] }],
    ['dd if=/dev/zero of=/dev/sda bs=1M', 'destroy-data', 'whole'],
    ['dd if=/dev/sda of=disk.img', 'create', 'one'],
    ['mkfs.ext4 /dev/sdb1', 'destroy-data', 'whole'],
    ['tar czf backup.tgz /srv/app', 'create', 'one'],
    ['tar -xzf backup.tgz -C /', 'modify', 'whole'],
    ['tar -tzf backup.tgz', 'read-only', 'one'],
  ],
  processes: [
    ['kill 4242', 'restart', 'one', { resources: ['4242'] }],
    ['kill -9 -1', 'restart', 'whole'],
    ['pkill -f worker', 'restart', 'all'],
    ['killall nginx', 'restart', 'all'],
    ['shutdown -r now', 'restart', 'whole'],
    ['reboot', 'restart', 'whole'],
    ['shutdown -c', 'modify', 'whole'],
  ],
};

describe('effect model', () => {
  for (const [family, rows] of Object.entries(FAMILIES)) {
    describe(family, () => {
      it.each(rows.map(([c, k, b, t]) => [c, k, b, t ?? {}] as const))(
        '%s → %s, blast %s',
        (command, cls, blast, targets) => {
          const e = effectOf(command);
          expect(e.classes[0]).toBe(cls);
          expect(e.blast).toBe(blast);
          expect(e.targets).toMatchObject(targets);
        },
      );
    });
  }

  it('knows at least 25 tools', () => {
    const tools = [
      'kubectl',
      'helm',
      'docker',
      'docker compose',
      'podman',
      'git',
      'systemctl',
      'journalctl',
      'iptables',
      'nft',
      'ufw',
      'crontab',
      'apt-get',
      'yum',
      'dnf',
      'pip',
      'npm',
      'yarn',
      'psql',
      'mysql',
      'redis-cli',
      'mongosh',
      'aws',
      'gcloud',
      'az',
      'terraform',
      'ansible',
      'ssh',
      'scp',
      'rsync',
      'curl',
      'wget',
      'rm',
      'mv',
      'cp',
      'chmod',
      'chown',
      'find',
      'sed',
      'dd',
      'mkfs',
      'tar',
      'kill',
      'pkill',
      'shutdown',
      'reboot',
    ];
    const known = new Set(Object.values(FAMILIES).flatMap((rows) => rows.map(([c]) => effectOf(c).tool)));
    expect(tools.filter((t) => known.has(t) || known.has(t.split(' ')[0] ?? t)).length).toBeGreaterThanOrEqual(25);
  });

  it.each([
    ['kubectl delete deployment web -n billing', 'kubectl delete deployment web --namespace billing'],
    ['kubectl delete deployment web -n billing', 'kubectl --namespace=billing delete deployment web'],
    ['kubectl scale deploy/web --replicas=3', 'kubectl scale --replicas 3 deploy/web'],
    ['docker compose down -v', 'docker compose down --volumes'],
    ['crontab -r', "crontab '-r'"],
    ['iptables -t nat -F', 'iptables --table=nat --flush'],
    ['git push -f origin main', 'git push --force origin main'],
    ['helm upgrade web ./chart -n prod --version 1.2.0', 'helm upgrade web ./chart --version=1.2.0 --namespace prod'],
  ])('reads %s and %s as the same effect', (a, b) => {
    expect(effectOf(a)).toEqual(effectOf(b));
  });

  it('sees through sudo, env, sh -c and pipelines, and adds privilege for sudo', () => {
    const e = effectOf('sudo env FOO=1 systemctl restart nginx');
    expect(e.classes).toEqual(['restart', 'privilege']);
    expect(effectOf('echo x && crontab -r').classes[0]).toBe('destroy-data');
    expect(effectOf("sh -c 'crontab -r'").classes[0]).toBe('destroy-data');
    expect(
      lineEffects([parseCommandLine('uptime; kubectl get pods; kubectl delete pod web-0')]).map(
        (x) => x.effect.classes[0],
      ),
    ).toEqual(['read-only', 'read-only', 'delete']);
    expect(effectOf('ls $(kubectl delete ns billing)').classes[0]).toBe('read-only');
    const inner = lineEffects([parseCommandLine('ls $(kubectl delete ns billing)')]).map((x) => x.effect.classes[0]);
    expect(inner).toContain('destroy-data');
  });

  it('assesses the risk of what ran', () => {
    expect(riskOfEffect(effectOf('kubectl get pods'))).toBe('safe');
    expect(riskOfEffect(effectOf('systemctl restart nginx'))).toBe('moderate');
    expect(riskOfEffect(effectOf('kubectl scale deploy/web --replicas=0'))).toBe('destructive');
    expect(riskOfEffect(effectOf('docker compose down -v'))).toBe('critical');
    expect(riskOfEffect(effectOf('rm -rf /'))).toBe('critical');
  });

  it('given the same parsed command twice, then its effect is derived once (parsed commands are shared)', () => {
    const [command] = parseCommandLine('kubectl delete pod web-1 -n shop').commands;
    expect(commandEffect(command!)).toBeDefined();
    expect(commandEffect(command!)).toBe(commandEffect(command!));
  });
});
