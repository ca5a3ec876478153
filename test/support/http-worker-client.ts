import { Worker } from 'node:worker_threads';

export interface RawHttpRequest {
  method: string;
  path: string;
  body?: string;
}

export interface RawHttpAnswer {
  status: number;
  /** A JSON body with `error.code` and `error.message` (the ledger's shape) or `message` (Fastify's). */
  clearError: boolean;
  /** The first 300 characters of the body, or the error when there was no answer. */
  text: string;
}

/**
 * The client side of a load test in a worker thread of its own: the ledger under test (in the test's thread) keeps a
 * core to itself. Requests go out on kept-alive connections, at most `concurrency` at a time; answers come back in
 * order. Plain JavaScript (evaluated), so it needs no transform.
 */
export function sendFromWorker(
  port: number,
  requests: RawHttpRequest[],
  concurrency: number,
  /** Sent with every request (e.g. the `authorization` of a credential). */
  extraHeaders: Record<string, string> = {},
): Promise<RawHttpAnswer[]> {
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { port, requests, concurrency, extraHeaders } });
  return new Promise((resolve, reject) => {
    worker.once('message', (answers: RawHttpAnswer[]) => {
      resolve(answers);
      void worker.terminate();
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (code !== 0) reject(new Error(`http worker exited with ${code}`));
    });
  });
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const http = require('node:http');
const { port, requests, concurrency, extraHeaders } = workerData;
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
function clear(text) {
  try {
    const reply = JSON.parse(text);
    return Boolean((reply.error && reply.error.code && reply.error.message) || reply.message);
  } catch {
    return false;
  }
}
function send(request) {
  return new Promise((resolve) => {
    const headers = request.body === undefined ? { ...extraHeaders } : {
      ...extraHeaders,
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(request.body),
    };
    const req = http.request({ host: '127.0.0.1', port, method: request.method, path: request.path, agent, headers }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode || 0, clearError: clear(text), text: text.slice(0, 300) });
      });
      res.on('error', (error) => resolve({ status: 0, clearError: false, text: 'response error: ' + error.message }));
    });
    req.on('error', (error) => resolve({ status: 0, clearError: false, text: 'no answer: ' + error.message }));
    req.end(request.body);
  });
}
(async () => {
  const answers = new Array(requests.length);
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < requests.length) {
      const index = next++;
      answers[index] = await send(requests[index]);
    }
  }));
  agent.destroy();
  parentPort.postMessage(answers);
})();
`;
