/**
 * Prometheus metrics of the HJ 212 gateway, registered on the registry it is given (the HTTP
 * app's, so they appear on its `GET /metrics`), never the global one. Per-device series are
 * labelled by MN; to bound label cardinality, an MN becomes a label only once a packet from it
 * passed its CRC (or it is configured for a legacy CRC), and at most `maxDevices` MNs are
 * labelled (later ones count under `_other`). Packets without a listable MN count under `_none`,
 * CRC failures from unknown MNs under `_unverified`. See docs/hj212.md#metrics.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { HJ212_MN } from '../../core/entry/hj212.js';
import type { GarbageReason } from './frame.js';

/** Why a received packet was not anchored. */
export type NotAnchoredReason = 'crc-rate-limit' | 'overloaded' | 'closed' | 'invalid' | 'error';

/** The gateway's metrics. */
export interface GatewayMetrics {
  /** Count a received frame from `mn` with its CRC verdict, seen at `nowSeconds` (Unix time). */
  packet(mn: string | undefined, crcOk: boolean, nowSeconds: number): void;
  /** Count bytes skipped by the framer. */
  discarded(reason: GarbageReason, bytes: number): void;
  /** Count a reply written (`9013` or `9014`). */
  reply(cn: string): void;
  /** Count a packet that was not anchored. */
  notAnchored(reason: NotAnchoredReason): void;
  /** Observe the time from a packet's arrival to its durable anchoring. */
  anchored(seconds: number): void;
  /** A connection opened (`+1`) or closed (`-1`). */
  connection(delta: 1 | -1): void;
  /** A connection refused because the gateway was at its connection limit. */
  refused(): void;
}

/**
 * createGatewayMetrics registers the `guzheng_hj212_*` metrics on `registry`.
 * Requires: no metric of these names on `registry` yet; `maxDevices` >= 1; `knownDevices` are MNs
 * that may be labelled before their first verified packet (the legacy-CRC devices).
 */
export function createGatewayMetrics(registry: Registry, maxDevices = 10_000, knownDevices: Iterable<string> = []): GatewayMetrics {
  const labelled = new Set<string>();
  const known = new Set<string>(knownDevices);
  const packets = new Counter({ name: 'guzheng_hj212_packets_total', help: 'HJ 212 packets received, by device MN.', labelNames: ['mn'] as const, registers: [registry] });
  const crcFailures = new Counter({ name: 'guzheng_hj212_crc_failures_total', help: 'HJ 212 packets received whose CRC did not verify, by device MN.', labelNames: ['mn'] as const, registers: [registry] });
  const lastSeen = new Gauge({ name: 'guzheng_hj212_last_seen_seconds', help: 'Unix time of the last HJ 212 packet received, by device MN.', labelNames: ['mn'] as const, registers: [registry] });
  const discarded = new Counter({ name: 'guzheng_hj212_discarded_bytes_total', help: 'Bytes skipped between HJ 212 frames, by reason.', labelNames: ['reason'] as const, registers: [registry] });
  const replies = new Counter({ name: 'guzheng_hj212_replies_total', help: 'Replies sent after anchoring, by CN (9013, 9014).', labelNames: ['cn'] as const, registers: [registry] });
  const notAnchored = new Counter({ name: 'guzheng_hj212_not_anchored_total', help: 'HJ 212 packets received but not anchored, by reason.', labelNames: ['reason'] as const, registers: [registry] });
  const anchorSeconds = new Histogram({
    name: 'guzheng_hj212_anchor_duration_seconds',
    help: 'Time from the arrival of an HJ 212 packet to its durable anchoring (the earliest a reply can go out).',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const open = new Gauge({ name: 'guzheng_hj212_connections', help: 'Open HJ 212 device connections.', registers: [registry] });
  const opened = new Counter({ name: 'guzheng_hj212_connections_total', help: 'HJ 212 device connections accepted.', registers: [registry] });
  const refused = new Counter({ name: 'guzheng_hj212_connections_refused_total', help: 'HJ 212 connections refused at the connection limit.', registers: [registry] });
  for (const r of ['crc-rate-limit', 'overloaded', 'closed', 'invalid', 'error'] as const) notAnchored.inc({ reason: r }, 0);

  const label = (mn: string | undefined, crcOk: boolean): string => {
    if (mn === undefined || !HJ212_MN.test(mn) || mn.startsWith('_')) return '_none';
    if (labelled.has(mn)) return mn;
    if (!crcOk && !known.has(mn)) return '_unverified';
    if (labelled.size >= maxDevices) return '_other';
    labelled.add(mn);
    return mn;
  };
  return {
    packet(mn, crcOk, nowSeconds) {
      const l = { mn: label(mn, crcOk) };
      packets.inc(l);
      if (!crcOk) crcFailures.inc(l);
      else crcFailures.inc(l, 0);
      lastSeen.set(l, nowSeconds);
    },
    discarded: (reason, bytes) => discarded.inc({ reason }, bytes),
    reply: (cn) => replies.inc({ cn }),
    notAnchored: (reason) => notAnchored.inc({ reason }),
    anchored: (seconds) => anchorSeconds.observe(seconds),
    connection(delta) {
      open.inc(delta);
      if (delta > 0) opened.inc();
    },
    refused: () => refused.inc(),
  };
}
