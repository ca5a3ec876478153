/**
 * Real-format secrets for the redaction tests, built from a seeded generator so no live credential is ever written
 * here. Each `secret` is the part that must vanish; `rule` is the marker type expected in its place.
 */
const UPPER_NUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const B64 = `${ALNUM}+/`;
const B64URL = `${ALNUM}-_`;
const HEX = '0123456789abcdef';

let seed = 0x2f6b_1d3a;
function randomOf(alphabet: string, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) {
    seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0;
    out += alphabet[(seed >>> 8) % alphabet.length];
  }
  return out;
}
export const alnum = (n: number) => randomOf(ALNUM, n);
const b64 = (n: number) => randomOf(B64, n);
const b64url = (n: number) => randomOf(B64URL, n);
const hex = (n: number) => randomOf(HEX, n);
const pemBody = () =>
  Array.from({ length: 6 }, () => b64(64))
    .join('\n')
    .concat(`\n${b64(20)}==`);
const pem = (kind: string) => `-----BEGIN ${kind}PRIVATE KEY-----\n${pemBody()}\n-----END ${kind}PRIVATE KEY-----`;
const jwt = () => `eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJ${b64url(60)}.${b64url(86)}`;

export interface SecretCase {
  readonly label: string;
  readonly text: string;
  readonly secret: string;
  readonly rule: string;
}

function secretCase(label: string, rule: string, secret: string, around: (secret: string) => string): SecretCase {
  return { label, rule, secret, text: around(secret) };
}

export const SECRET_CASES: readonly SecretCase[] = [
  secretCase(
    'AWS access key id',
    'aws-access-key',
    `AKIA${randomOf(UPPER_NUM, 16)}`,
    (s) => `export AWS_ACCESS_KEY_ID=${s}`,
  ),
  secretCase(
    'AWS STS key id in JSON',
    'aws-access-key',
    `ASIA${randomOf(UPPER_NUM, 16)}`,
    (s) => `{"AccessKeyId": "${s}"}`,
  ),
  secretCase(
    'AWS secret in credentials file',
    'aws-secret-key',
    b64(40),
    (s) => `[default]\naws_secret_access_key = ${s}\n`,
  ),
  secretCase('AWS secret in env', 'aws-secret-key', b64(40), (s) => `AWS_SECRET_ACCESS_KEY=${s} aws s3 ls`),
  secretCase('GCP service-account private key', 'private-key', pemBody().replaceAll('\n', '\\n'), (s) =>
    JSON.stringify({ type: 'service_account', private_key_id: 'k1' }).replace(
      '}',
      `,"private_key":"-----BEGIN PRIVATE KEY-----\\n${s}\\n-----END PRIVATE KEY-----\\n"}`,
    ),
  ),
  secretCase('GCP API key', 'gcp-api-key', `AIza${b64url(35)}`, (s) => `curl "https://maps.example.com/geo?key=${s}"`),
  secretCase('GCP OAuth client secret', 'gcp-oauth', `GOCSPX-${b64url(28)}`, (s) => `client secret is ${s}`),
  secretCase('Google access token', 'gcp-oauth', `ya29.${b64url(60)}`, (s) => `gcloud auth print-access-token\n${s}`),
  secretCase(
    'Azure storage connection string',
    'azure-storage-key',
    `${b64(86)}==`,
    (s) => `DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=${s};EndpointSuffix=core.windows.net`,
  ),
  secretCase(
    'Azure SAS signature',
    'azure-sas-signature',
    `${alnum(30)}%2B${alnum(10)}%3D`,
    (s) => `az storage blob download --url "https://acme.blob.core.windows.net/c/f?sv=2022-11-02&sp=r&sig=${s}"`,
  ),
  secretCase(
    'Azure AD client secret',
    'azure-client-secret',
    `${alnum(3)}8Q~${b64url(34).replace(/[-]/g, '.')}`,
    (s) => `AZURE_CLIENT_ID=1 client=${s}`,
  ),
  secretCase(
    'Azure Service Bus key',
    'azure-storage-key',
    `${b64(43)}=`,
    (s) => `Endpoint=sb://acme.servicebus.windows.net/;SharedAccessKeyName=root;SharedAccessKey=${s}`,
  ),
  secretCase(
    'GitHub classic token',
    'github-token',
    `ghp_${alnum(36)}`,
    (s) => `git clone https://x:${s}@github.com/a/b`,
  ),
  secretCase(
    'GitHub fine-grained token',
    'github-token',
    `github_pat_${alnum(22)}_${alnum(59)}`,
    (s) => `GH_TOKEN ${s}`,
  ),
  secretCase('GitHub OAuth token', 'github-token', `gho_${alnum(36)}`, (s) => `oauth: ${s}`),
  secretCase(
    'GitHub header token',
    'github-token',
    `ghs_${alnum(36)}`,
    (s) => `curl -H "Authorization: token ${s}" https://api.github.com/user`,
  ),
  secretCase(
    'GitLab token',
    'gitlab-token',
    `glpat-${b64url(20)}`,
    (s) => `git push https://oauth2:${s}@gitlab.com/a/b.git`,
  ),
  secretCase('Slack bot token', 'slack-token', `xoxb-${hex(11)}-${hex(13)}-${alnum(24)}`, (s) => `SLACK=${s}`),
  secretCase(
    'Slack webhook',
    'slack-webhook',
    `https://hooks.slack.com/services/T${alnum(8)}/B${alnum(10)}/${alnum(24)}`,
    (s) => `curl -X POST -d '{"text":"hi"}' ${s}`,
  ),
  secretCase('Stripe live key', 'stripe-key', `sk_live_${alnum(24)}`, (s) => `stripe --api-key ${s} charges list`),
  secretCase('Stripe webhook secret', 'stripe-key', `whsec_${alnum(32)}`, (s) => `signing secret ${s}`),
  secretCase('OpenAI project key', 'openai-key', `sk-proj-${b64url(74)}T3BlbkFJ${b64url(74)}`, (s) => `OPENAI ${s}`),
  secretCase(
    'OpenAI legacy key',
    'openai-key',
    `sk-${alnum(20)}T3BlbkFJ${alnum(20)}`,
    (s) => `openai.api_key = "${s}"`,
  ),
  secretCase('Anthropic key', 'anthropic-key', `sk-ant-api03-${b64url(93)}AA`, (s) => `x ${s} y`),
  secretCase(
    'npm token',
    'npm-token',
    `npm_${alnum(36)}`,
    (s) => `npm config set //registry.npmjs.org/:_authToken ${s}`,
  ),
  secretCase(
    'npmrc auth token',
    'npm-token',
    `${hex(8)}-${hex(4)}-${hex(4)}-${hex(4)}-${hex(12)}`,
    (s) => `//registry.npmjs.org/:_authToken=${s}`,
  ),
  secretCase('RSA private key', 'private-key', pem('RSA '), (s) => `cat id_rsa\n${s}\n`),
  secretCase('EC private key', 'private-key', pem('EC '), (s) => `openssl ecparam -genkey\n${s}`),
  secretCase('OpenSSH private key', 'private-key', pem('OPENSSH '), (s) => `echo '${s}' > ~/.ssh/id_ed25519`),
  secretCase(
    'PEM cut by the output cap',
    'private-key',
    `-----BEGIN PRIVATE KEY-----\n${b64(64)}\n${b64(30)}`,
    (s) => s,
  ),
  secretCase('JWT', 'jwt', jwt(), (s) => `token=${s}`),
  secretCase('bearer JWT header', 'jwt', jwt(), (s) => `curl -H "Authorization: Bearer ${s}" https://api.example.com`),
  secretCase(
    'bearer opaque token',
    'authorization-header',
    `${alnum(20)}.${alnum(12)}`,
    (s) => `Authorization: Bearer ${s}`,
  ),
  secretCase('basic auth header', 'authorization-header', b64(28), (s) => `Authorization: Basic ${s}\r\nHost: x`),
  secretCase(
    'postgres URL password',
    'url-password',
    `Pg-${alnum(14)}`,
    (s) => `psql postgres://app:${s}@db.internal:5432/app`,
  ),
  secretCase(
    'mongodb URL password',
    'url-password',
    alnum(18),
    (s) => `mongosh "mongodb+srv://admin:${s}@cluster0.mongodb.net/x"`,
  ),
  secretCase(
    'https URL password',
    'url-password',
    `p4ss-${alnum(10)}`,
    (s) => `wget https://deploy:${s}@files.example.com/a.tgz`,
  ),
  secretCase('.env password', 'env-secret', `hunter2-${alnum(8)}`, (s) => `DB_PASSWORD=${s}\nDB_HOST=db`),
  secretCase('.env quoted key', 'env-secret', `two words ${alnum(8)}`, (s) => `API_KEY="${s}"`),
  secretCase('.env token', 'env-secret', alnum(32), (s) => `export SENTRY_AUTH_TOKEN=${s}`),
  secretCase('.env secret key base', 'secret-value', hex(64), (s) => `SECRET_KEY_BASE=${s} rails s`),
  secretCase('password assignment', 'password', `c0rrect-h0rse-${alnum(6)}`, (s) => `login ok password=${s}`),
  secretCase('password flag quoted', 'password', `Tr0ub4dor&3${alnum(4)}`, (s) => `mysql -u root --password='${s}' db`),
  secretCase(
    'password flag spaced',
    'secret-flag',
    `s3cretPassw0rd!${alnum(4)}`,
    (s) => `docker login -u me --password ${s} r.io`,
  ),
  secretCase(
    'curl basic auth',
    'basic-auth-flag',
    `Passw0rd${alnum(6)}`,
    (s) => `curl -u admin:${s} https://jenkins/api`,
  ),
  secretCase('client secret in JSON', 'secret-value', b64url(40), (s) => `{"client_id":"app","client_secret":"${s}"}`),
  secretCase('api key header', 'api-key-header', alnum(32), (s) => `curl -H 'x-api-key: ${s}' https://api`),
  secretCase('SendGrid key', 'sendgrid-key', `SG.${b64url(22)}.${b64url(43)}`, (s) => `SENDGRID ${s}`),
  secretCase('Vault token', 'vault-token', `hvs.${b64url(90)}`, (s) => `vault login ${s}`),
  secretCase(
    'Docker PAT',
    'service-token',
    `dckr_pat_${b64url(27)}`,
    (s) => `echo ${s} | docker login --password-stdin`,
  ),
  secretCase(
    'Hugging Face token',
    'service-token',
    `hf_${randomOf('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ', 34)}`,
    (s) => `huggingface-cli login --token=${s}`,
  ),
];

/** Texts that look like secrets and are not: they must come out unchanged. */
export const LOOK_ALIKES: readonly string[] = [
  `${hex(64)}  release.tar.gz`,
  `sha1: ${hex(40)}`,
  `commit ${hex(40)}\nAuthor: Dev <dev@example.com>`,
  `${hex(7)} fix: handle empty input\n${hex(7)} feat: add retry`,
  `request ${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)} done`,
  'echo aGVsbG8gd29ybGQ= | base64 -d',
  'VGhlIHF1aWNrIGJyb3duIGZveCBqdW1wcyBvdmVyIHRoZSBsYXp5IGRvZw==',
  'node v20.19.3, npm 11.19.1, app v1.27.3-rc.1+build.5',
  `docker pull nginx@sha256:${hex(64)}`,
  'kubectl logs web-7d9f8b6c5d-x2k4p -n prod',
  'kubectl get secret db-credentials -n prod -o name',
  'curl https://example.com/api/v1/items?page=2&limit=50',
  'git remote add origin git@github.com:acme/app.git',
  `-----BEGIN PUBLIC KEY-----\n${b64(64)}\n-----END PUBLIC KEY-----`,
  `-----BEGIN CERTIFICATE-----\n${b64(64)}\n-----END CERTIFICATE-----`,
  `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${b64(43)} dev@laptop`,
  'cat token.txt | docker login --username me --password-stdin',
  'PWD=/home/deploy OLDPWD=/srv/app',
  'Password: \nLogin Succeeded',
  'password: ********',
  'export TOKEN=${GITHUB_TOKEN}',
  'curl -H "Authorization: Bearer $TOKEN" https://api.example.com',
  'ping6 2001:db8:85a3::8a2e:370:7334',
  'pip install scikit-learn==1.5.2 sk-video',
  'ghp_ is the prefix of GitHub tokens',
  'started 2026-12-07T08:10:24.123Z finished 2026-12-07T08:10:25.001Z',
  'npm_config_registry=https://registry.npmjs.org/',
  'arn:aws:iam::123456789012:role/deploy-role',
  'Bearer authentication is required for this endpoint',
  'the api key is kept in the vault, never in the repo',
  'openssl rand -hex 32 > key.bin',
  `ETag: "${hex(40)}"`,
  'SSH_AUTH_SOCK=/tmp/ssh-XXXXabcd/agent.4242',
  'MAX_TOKENS=4096 TOKENIZER=bpe',
  `{"sha256": "${hex(64)}", "bytes": 1024}`,
  'asia-east1-docker.pkg.dev/acme/app:1.2.3',
];
