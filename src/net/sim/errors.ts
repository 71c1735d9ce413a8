/*
 * Errors the simulated network raises, shaped like node:net's (an Error with
 * a `code`, message "connect ECONNREFUSED 10.0.0.2:6881"), so code that
 * inspects `code` behaves the same on the simulator as on real sockets.
 */

export type SimErrorCode = 'ECONNREFUSED' | 'ETIMEDOUT' | 'EADDRINUSE' | 'EADDRNOTAVAIL';

export function netError(code: SimErrorCode, syscall: string, address: string): Error & { code: SimErrorCode } {
  return Object.assign(new Error(`${syscall} ${code} ${address}`), { code });
}
