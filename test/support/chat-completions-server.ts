import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the fake judge does with the next requests. */
type JudgeBehaviour =
  | { answer: 'MATCH' | 'MISMATCH' | 'UNCLEAR'; rationale: string }
  /** A chat completion whose content is not the JSON the judge must answer. */
  | { garbage: string }
  /** Holds the request open (longer than any test's timeout); closed when the server stops. */
  | { hang: true };

interface ChatCompletionsRequest {
  url: string;
  authorization?: string;
  body: { model: string; messages: { role: string; content: string }[]; [key: string]: unknown };
}

export interface ChatCompletionsServer {
  /** Base URL as `LEDGER_JUDGE_URL` takes it (`http://127.0.0.1:<port>/v1`). */
  baseUrl: string;
  /** Every request received, in order. */
  requests: ChatCompletionsRequest[];
  behaviour: JudgeBehaviour;
  close(): Promise<void>;
}

/**
 * A local server speaking the OpenAI chat-completions API (`POST /v1/chat/completions`), standing in for Mistral,
 * Ollama or vLLM: it answers as `behaviour` says and records what it was asked.
 */
export async function startChatCompletionsServer(model = 'fake-judge-1'): Promise<ChatCompletionsServer> {
  const state: Omit<ChatCompletionsServer, 'close' | 'baseUrl'> = {
    requests: [],
    behaviour: { answer: 'UNCLEAR', rationale: 'not set up' },
  };
  const reply = (res: ServerResponse, content: string) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        id: `chatcmpl-${state.requests.length}`,
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model,
        choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
      }),
    );
  };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString('utf8')));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
        res.writeHead(404).end();
        return;
      }
      state.requests.push({
        url: req.url,
        ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
        body: JSON.parse(raw) as ChatCompletionsRequest['body'],
      });
      const behaviour = state.behaviour;
      if ('hang' in behaviour) return;
      if ('garbage' in behaviour) return reply(res, behaviour.garbage);
      reply(res, JSON.stringify({ verdict: behaviour.answer, rationale: behaviour.rationale }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
}
