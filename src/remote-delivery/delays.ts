/** James RemoteDelivery defaults: `delayTime` 5000, 100000, 500000 ms; `maxRetries` 5. */
export const DEFAULT_DELAYS_MS = [5_000, 100_000, 500_000];
export const DEFAULT_MAX_RETRIES = 5;

const UNITS: Record<string, number> = {
  '': 1, ms: 1, msec: 1, msecs: 1,
  s: 1_000, sec: 1_000, secs: 1_000, second: 1_000, seconds: 1_000,
  m: 60_000, min: 60_000, mins: 60_000, minute: 60_000, minutes: 60_000,
  h: 3_600_000, hour: 3_600_000, hours: 3_600_000,
  d: 86_400_000, day: 86_400_000, days: 86_400_000,
};

/**
 * Parses James' `delayTime`: comma-separated delays, each `[attempts*]amount [unit]`
 * (`5000, 2*100000, 5 minutes`). `2*x` repeats the delay for two attempts.
 */
export function parseDelays(spec: string | number[] | number): number[] {
  if (Array.isArray(spec)) return spec.map((d) => checkDelay(Number(d), String(d)));
  if (typeof spec === 'number') return [checkDelay(spec, String(spec))];
  const out: number[] = [];
  for (const raw of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^(?:(\d+)\s*\*\s*)?(\d+)\s*([a-z]*)$/i.exec(raw);
    if (!m || !(m[3].toLowerCase() in UNITS)) throw new Error(`invalid delay ${JSON.stringify(raw)} (e.g. 5000, 2*5 minutes)`);
    const times = m[1] ? Number(m[1]) : 1;
    if (times < 1 || times > 1000) throw new Error(`invalid repetition in delay ${JSON.stringify(raw)}`);
    const ms = checkDelay(Number(m[2]) * UNITS[m[3].toLowerCase()], raw);
    for (let i = 0; i < times; i++) out.push(ms);
  }
  if (out.length === 0) throw new Error('needs at least one delay');
  return out;
}

function checkDelay(ms: number, raw: string): number {
  if (!Number.isFinite(ms) || ms < 0) throw new Error(`invalid delay ${JSON.stringify(raw)}`);
  return ms;
}

/** Delay before attempt `attempt + 1` (attempt counts from 1): the last delay repeats. */
export function delayAfter(delays: number[], attempt: number): number {
  if (delays.length === 0) return 0;
  return delays[Math.min(attempt - 1, delays.length - 1)];
}
