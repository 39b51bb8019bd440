/**
 * What every page may need: the log's public facts (`GET /v1/log`) and the signed-in person, if
 * any (`GET /v1/session`), shared through one Preact context.
 */
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';

/** `GET /v1/log`. */
export interface LogInfo {
  readonly origin: string;
  readonly verifierKey: string;
  readonly suite: 'c2sp' | 'gm';
  readonly digestAlg: 'sha256' | 'sm3';
  readonly publicKeyPem?: string;
  readonly size: string;
  readonly rootHash: string;
  readonly height: string;
  readonly blockHash: string;
  readonly checkpointIntervalMs: number;
  readonly checkpoint?: string;
  readonly publicUrl?: string;
}

/** A signed-in person (docs/console-api.md). */
export interface User {
  readonly name: string;
  readonly role: 'submit' | 'audit' | 'admin';
  readonly mustChangePassword: boolean;
  readonly createdAt: string;
  readonly disabledAt?: string;
}

/** The shared state and how to change it. */
export interface ConsoleState {
  readonly log: LogInfo | undefined;
  readonly user: User | undefined;
  /** Re-read the session (after sign-in, sign-out, a password change). */
  readonly refreshSession: () => Promise<void>;
  /** Re-read the log's state; resolves to it (undefined when it cannot be read). */
  readonly refreshLog: () => Promise<LogInfo | undefined>;
}

export const StateContext = createContext<ConsoleState>({
  log: undefined,
  user: undefined,
  refreshSession: async () => undefined,
  refreshLog: async () => undefined,
});

/** useConsole is the shared state. */
export function useConsole(): ConsoleState {
  return useContext(StateContext);
}

/** may tells whether a role may act as `needed` (admin implies all), as the service decides. */
export function may(user: User | undefined, needed: ReadonlyArray<User['role']>): boolean {
  return user !== undefined && !user.mustChangePassword && (user.role === 'admin' || needed.includes(user.role));
}
