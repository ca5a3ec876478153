export { TcpServerState } from './tcp-limits.js';
export { tcpConnectionPrincipal } from './client-certificate.js';
export { LedgerServerTcp } from './ledger-server-tcp.js';
