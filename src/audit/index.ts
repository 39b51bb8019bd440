/**
 * Auditing and monitoring a Guzheng log without trusting its operator (docs/audit.md): replay a
 * stopped data directory or a live log from genesis ({@link runAudit}), follow a live log's
 * checkpoints ({@link monitorOnce}, {@link runMonitor}), and keep the evidence when it lies
 * ({@link FraudProof}, {@link verifyFraudProof}).
 */
export { runAudit, type AuditOptions, type AuditProgress, type SavedCheckpoint } from './replay.js';
export { LocalSource, resolveLedgerDir } from './local.js';
export { RemoteSource, LogClient, type RemoteOptions } from './remote.js';
export { AuditAbort, type AuditSource, type SourceInfo } from './source.js';
export { formatReport, reportJson, problemJson, whereOf, type AuditReport, type Problem, type ProblemKind } from './report.js';
export { buildFraudProof, verifyFraudProof, FRAUD_PROOF_FORMAT, type FraudProof, type FraudKind, type FraudProofCheck } from './fraud.js';
export {
  monitorOnce,
  runMonitor,
  readMonitorState,
  writeFileAtomic,
  MonitorError,
  MONITOR_STATE_FORMAT,
  type MonitorOptions,
  type RunMonitorOptions,
  type MonitorOutcome,
  type MonitorState,
} from './monitor.js';
