import { cpus, totalmem } from 'node:os';

/** `Machine: <cores> × <cpu>, <memory>, Node <version>` for the report sections. */
export function machineLine(): string {
  return `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
}
