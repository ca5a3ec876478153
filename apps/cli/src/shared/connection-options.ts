import { DEFAULT_MAX_FRAME_BYTES } from '@audit-ledger/client';
import { InvalidArgumentError, Option, type Command } from 'commander';

/** Where the ledger is, shared by every command (flags win over the environment, which wins over defaults). */
export interface ConnectionOptions {
  host: string;
  port: number;
  httpPort: number;
  spoolDir: string;
  timeout: number;
  maxFrameBytes: number;
  /** The ledger's HTTP API when not `http(s)://<host>:<httpPort>` (a proxy, another scheme). */
  httpUrl?: string;
  /** TLS: the CA that issued the ledger's certificate, and the client certificate and key when it asks for one. */
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  /** The credential presented to the ledger; unset: the local credentials file's key for the command's role. */
  apiKey?: string;
}

const parsePort = (value: string): number => {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65_535) throw new InvalidArgumentError('must be a port number (0-65535)');
  return port;
};

const parsePositiveInteger = (value: string): number => {
  if (!/^[1-9]\d*$/.test(value)) throw new InvalidArgumentError('must be a positive integer');
  return Number(value);
};

export function addConnectionOptions(program: Command): Command {
  return program
    .addOption(new Option('--host <host>', 'ledger host').env('LEDGER_HOST').default('127.0.0.1'))
    .addOption(
      new Option('--port <port>', 'ledger TCP (microservice) port')
        .env('LEDGER_TCP_PORT')
        .argParser(parsePort)
        .default(4100),
    )
    .addOption(
      new Option('--http-port <port>', 'ledger HTTP port').env('LEDGER_HTTP_PORT').argParser(parsePort).default(8080),
    )
    .addOption(
      new Option('--spool-dir <dir>', 'where commands wait while the ledger is unreachable')
        .env('LEDGER_SPOOL_DIR')
        .default('./.ledger-spool'),
    )
    .addOption(
      new Option('--timeout <ms>', 'how long to wait for the ledger before spooling')
        .argParser(parsePositiveInteger)
        .default(5000),
    )
    .addOption(
      new Option(
        '--max-frame-bytes <bytes>',
        "the ledger's largest TCP frame: a bigger command is refused, not spooled",
      )
        .env('LEDGER_TCP_MAX_FRAME_BYTES')
        .argParser(parsePositiveInteger)
        .default(DEFAULT_MAX_FRAME_BYTES),
    )
    .addOption(
      new Option('--http-url <url>', "the ledger's HTTP API (default: http(s)://<host>:<http-port>)").env(
        'LEDGER_HTTP_URL',
      ),
    )
    .addOption(
      new Option('--tls-ca <file>', "CA of the ledger's TLS certificate: TCP and HTTP then use TLS (https)").env(
        'LEDGER_TLS_CA_FILE',
      ),
    )
    .addOption(
      new Option('--tls-cert <file>', 'client certificate, when the ledger asks for one').env(
        'LEDGER_TLS_CLIENT_CERT_FILE',
      ),
    )
    .addOption(new Option('--tls-key <file>', 'key of --tls-cert').env('LEDGER_TLS_CLIENT_KEY_FILE'))
    .addOption(
      new Option(
        '--api-key <key>',
        "the API key (or JWT) presented to the ledger (default: data/credentials' key for the command's role)",
      ).env('LEDGER_API_KEY'),
    );
}

export function connectionOf(command: Command): ConnectionOptions {
  return command.optsWithGlobals<ConnectionOptions>();
}
