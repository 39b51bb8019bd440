import { describe, expect, it } from 'vitest';
import { LoginThrottle } from '../../src/auth/throttle.js';

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('LoginThrottle', () => {
  it('allows 5 failures, then locks 1 s, doubling, capped at 15 min', () => {
    const c = clock();
    const th = new LoginThrottle({}, c.now);
    const keys = ['user:alice', 'ip:10.0.0.1'];
    for (let i = 0; i < 4; i++) {
      expect(th.retryAfterMs(keys)).toBe(0);
      expect(th.fail(keys).lockMs).toBe(0);
    }
    const fifth = th.fail(keys);
    expect(fifth.lockMs).toBe(1000);
    expect(fifth.locked).toEqual(keys);
    expect(th.retryAfterMs(keys)).toBe(1000);
    expect(th.retryAfterMs(['user:alice'])).toBe(1000);
    expect(th.retryAfterMs(['user:bob'])).toBe(0);
    c.advance(999);
    expect(th.retryAfterMs(keys)).toBe(1);
    c.advance(1);
    expect(th.retryAfterMs(keys)).toBe(0);
    const waits: number[] = [];
    for (let i = 0; i < 14; i++) {
      waits.push(th.fail(keys).lockMs);
      c.advance(th.retryAfterMs(keys));
    }
    expect(waits.slice(0, 10)).toEqual([2000, 4000, 8000, 16000, 32000, 64000, 128000, 256000, 512000, 900000]);
    expect(waits.slice(10)).toEqual([900000, 900000, 900000, 900000]);
  });

  it('counts keys separately: a locked address locks every name tried from it', () => {
    const c = clock();
    const th = new LoginThrottle({}, c.now);
    for (let i = 0; i < 5; i++) th.fail([`user:u${i}`, 'ip:1.2.3.4']);
    expect(th.retryAfterMs(['user:new', 'ip:1.2.3.4'])).toBe(1000);
    expect(th.retryAfterMs(['user:new', 'ip:5.6.7.8'])).toBe(0);
    expect(th.retryAfterMs(['user:u0', 'ip:5.6.7.8'])).toBe(0);
  });

  it('a success forgets the name, not the address', () => {
    const c = clock();
    const th = new LoginThrottle({}, c.now);
    for (let i = 0; i < 4; i++) th.fail(['user:alice', 'ip:a']);
    th.succeed('user:alice');
    expect(th.fail(['user:alice', 'ip:a']).locked).toEqual(['ip:a']);
  });

  it('forgets a key an hour after its last failure', () => {
    const c = clock();
    const th = new LoginThrottle({}, c.now);
    for (let i = 0; i < 4; i++) th.fail(['user:alice']);
    c.advance(3600_000);
    expect(th.fail(['user:alice']).lockMs).toBe(0);
    c.advance(3599_999);
    expect(th.fail(['user:alice']).lockMs).toBe(0);
  });

  it('holds at most maxKeys, shedding unlocked keys before locked ones', () => {
    const c = clock();
    const th = new LoginThrottle({ maxKeys: 100 }, c.now);
    for (let i = 0; i < 5; i++) th.fail(['user:victim']);
    for (let i = 0; i < 1000; i++) th.fail([`user:spray${i}`]);
    expect(th.size).toBeLessThanOrEqual(100);
    expect(th.retryAfterMs(['user:victim'])).toBeGreaterThan(0);
  });
});
