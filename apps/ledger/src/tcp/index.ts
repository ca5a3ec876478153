export { BoundedJsonSocket, boundedJsonSocketClass, type TcpErrorCode } from './bounded-json-socket.js';
export { FrameReader, type FrameError, type ReadResult } from './frame-reader.js';
export { TcpServerState, type TcpLimits } from './tcp-limits.js';
export {
  certificatePrincipalOf,
  CertificatePrincipalsFileError,
  loadCertificatePrincipals,
  tcpConnectionPrincipal,
  type CertificatePrincipalEntry,
  type CertificatePrincipalOf,
} from './client-certificate.js';
export { LedgerServerTcp, type LedgerTcpServerOptions } from './ledger-server-tcp.js';
