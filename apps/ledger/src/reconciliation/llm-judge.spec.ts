import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../config/ledger.config.js';
import { JUDGE_PROMPT_VERSION, llmJudgeFromConfig, LlmReconciliationJudge } from './llm-judge.js';

type Handler = (body: Record<string, unknown>, req: IncomingMessage, res: ServerResponse) => void;

/** A local server speaking the chat-completions API; each test sets what it answers. */
describe('LlmReconciliationJudge against a local OpenAI-compatible server', () => {
  let server: Server;
  let baseUrl: string;
  let handler: Handler;
  const input = {
    instruction: 'restart the api service',
    executed: ['systemctl restart api'],
    candidateVerdict: 'UNCLEAR' as const,
  };
  const completion = (content: string | null) => ({
    id: 'c1',
    object: 'chat.completion',
    model: 'mistral-small-2506',
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
  });
  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  beforeAll(async () => {
    server = createServer((req, res) => {
      let raw = '';
      req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
      req.on('end', () => handler(JSON.parse(raw) as Record<string, unknown>, req, res));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('given a valid JSON answer, when judging, then it returns the verdict, rationale, model and prompt version', async () => {
    let seen: { body: Record<string, unknown>; url?: string; auth?: string } | undefined;
    handler = (body, req, res) => {
      seen = { body, url: req.url, auth: req.headers.authorization };
      json(res, 200, completion('{"verdict":"MATCH","rationale":"systemctl restart api restarts the api"}'));
    };
    const judge = new LlmReconciliationJudge({ baseUrl: `${baseUrl}/`, model: 'mistral-small-latest', apiKey: 'k1' });
    await expect(judge.judge(input)).resolves.toEqual({
      verdict: 'MATCH',
      rationale: 'systemctl restart api restarts the api',
      model: 'mistral-small-2506',
      promptVersion: JUDGE_PROMPT_VERSION,
      promptHash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(seen).toMatchObject({
      url: '/v1/chat/completions',
      auth: 'Bearer k1',
      body: { model: 'mistral-small-latest', response_format: { type: 'json_object' }, temperature: 0 },
    });
    const messages = seen!.body.messages as { role: string; content: string }[];
    expect(messages.map((m) => m.role)).toEqual(['system', 'user']);
    expect(JSON.parse(messages[1]!.content)).toEqual({
      instruction: input.instruction,
      executed: input.executed,
      deterministicVerdict: 'UNCLEAR',
    });
  });

  it.each([
    ['content that is not JSON', completion('Sure! The verdict is MATCH.')],
    ['a verdict outside the schema', completion('{"verdict":"PROBABLY","rationale":"hm"}')],
    ['extra keys', completion('{"verdict":"MATCH","rationale":"ok","confidence":0.9}')],
    ['no content', completion(null)],
    ['a rationale holding a lone surrogate', completion('{"verdict":"MATCH","rationale":"ok \\ud800"}')],
    ['a rationale holding a NUL', completion('{"verdict":"MATCH","rationale":"ok \\u0000"}')],
    ['a body that is not a chat completion', { error: 'nope' }],
  ])('given %s, when judging, then it answers a failure naming why (UNCLEAR)', async (_what, body) => {
    handler = (_body, _req, res) => json(res, 200, body);
    const reasons: string[] = [];
    const judge = new LlmReconciliationJudge({ baseUrl, model: 'm', onFailure: (r) => reasons.push(r) });
    const outcome = await judge.judge(input);
    expect(outcome).toEqual({
      error: expect.any(String),
      model: 'm',
      promptVersion: JUDGE_PROMPT_VERSION,
      promptHash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(reasons).toEqual([(outcome as { error: string }).error]);
  });

  it('given an HTTP error, when judging, then it answers the failure', async () => {
    handler = (_body, _req, res) => json(res, 500, { error: { message: 'overloaded' } });
    const reasons: string[] = [];
    const judge = new LlmReconciliationJudge({ baseUrl, model: 'm', onFailure: (r) => reasons.push(r) });
    await expect(judge.judge(input)).resolves.toMatchObject({ error: 'HTTP 500' });
    expect(reasons).toEqual(['HTTP 500']);
  });

  it('given a server slower than the timeout, when judging, then it gives up after the timeout and answers the failure', async () => {
    handler = (_body, _req, res) => {
      setTimeout(() => json(res, 200, completion('{"verdict":"MATCH","rationale":"late"}')), 2000).unref();
    };
    const reasons: string[] = [];
    const judge = new LlmReconciliationJudge({
      baseUrl,
      model: 'm',
      timeoutMs: 100,
      onFailure: (r) => reasons.push(r),
    });
    await expect(judge.judge(input)).resolves.toMatchObject({ error: 'timeout after 100 ms' });
    expect(reasons).toEqual(['timeout after 100 ms']);
  });

  it('given nothing listening, when judging, then it answers the failure', async () => {
    const judge = new LlmReconciliationJudge({ baseUrl: 'http://127.0.0.1:1/v1', model: 'm' });
    await expect(judge.judge(input)).resolves.toMatchObject({ error: expect.any(String), model: 'm' });
  });

  it('is off unless LEDGER_JUDGE_URL is set, and needs a model with it', () => {
    expect(llmJudgeFromConfig(loadConfig({}, {}))).toBeUndefined();
    expect(() => loadConfig({}, { LEDGER_JUDGE_URL: baseUrl })).toThrow('LEDGER_JUDGE_MODEL');
    expect(() =>
      loadConfig({}, { LEDGER_JUDGE_URL: baseUrl, LEDGER_JUDGE_MODEL: 'm', LEDGER_JUDGE_TIMEOUT_MS: 'soon' }),
    ).toThrow('LEDGER_JUDGE_TIMEOUT_MS');
    const judge = llmJudgeFromConfig(
      loadConfig({}, { LEDGER_JUDGE_URL: baseUrl, LEDGER_JUDGE_MODEL: 'm', LEDGER_JUDGE_TIMEOUT_MS: '2500' }),
    );
    expect(judge).toBeInstanceOf(LlmReconciliationJudge);
    expect(judge).toMatchObject({ model: 'm', promptVersion: JUDGE_PROMPT_VERSION });
  });
});
