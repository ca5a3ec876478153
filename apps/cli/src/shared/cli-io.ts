/** Where the CLI writes: the process's streams, or buffers when a test runs the program in-process. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** The same output as a byte stream with backpressure (large exports); absent when a test collects text. */
  outStream?: NodeJS.WritableStream;
}

export const processIo: CliIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  outStream: process.stdout,
};
