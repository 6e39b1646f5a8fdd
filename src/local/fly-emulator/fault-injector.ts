/**
 * Fault injection for the Fly emulator: per route and rate, with a seeded RNG.
 *
 * Kinds: `latency` (delay, then answer normally; with phase `after` the request is processed first
 * and the answer held back; a client that hangs up during a `before` delay never reaches Fly),
 * `rate-limit` (429 with Retry-After),
 * `timeout` (408), `server-error` (500), `bad-gateway` (502), `unavailable` (503), `reset` (the
 * connection is dropped without an answer), `status` (any status given in the rule).
 * Phase: `before` (the request is not processed) or `after` (it is processed, then the answer is
 * replaced — what makes a create ambiguous); `either` picks one at random (always `before` for
 * `rate-limit`, as a rate limiter does no work). Default `either`.
 */
export type FaultKind =
  | 'latency'
  | 'rate-limit'
  | 'timeout'
  | 'server-error'
  | 'bad-gateway'
  | 'unavailable'
  | 'reset'
  | 'status';

export interface FaultRule {
  /** `METHOD /v1/route/:template`, `METHOD *`, a template alone, or `*`/undefined for every request. */
  route?: string;
  /** Share of matching requests that fail, 0…1. */
  rate: number;
  kinds: FaultKind[];
  latencyMs?: number;
  retryAfterSeconds?: number;
  phase?: 'before' | 'after' | 'either';
  /** For kind `status`. */
  status?: number;
  /** For kind `status`: the `error` text. */
  message?: string;
  /** Fire at most this many times (then the rule stays but is spent). */
  times?: number;
}

export interface Fault {
  kind: FaultKind;
  phase: 'before' | 'after';
  latencyMs: number;
  retryAfterSeconds: number;
  status: number;
  message: string | undefined;
}

export interface FaultInjector {
  /** The fault for this request, if one fires. Registry and API routes alike. */
  pick(method: string, routeTemplate: string): Fault | undefined;
  setRules(rules: FaultRule[]): void;
  addRule(rule: FaultRule): void;
  clear(): void;
  rules(): FaultRule[];
  /** Faults injected so far, by kind. */
  injected(): Record<string, number>;
}

const STATUS_OF: Record<FaultKind, number> = {
  latency: 200,
  'rate-limit': 429,
  timeout: 408,
  'server-error': 500,
  'bad-gateway': 502,
  unavailable: 503,
  reset: 0,
  status: 500,
};

function matches(rule: FaultRule, method: string, template: string): boolean {
  const route = rule.route?.trim();
  if (route === undefined || route === '' || route === '*') return true;
  const space = route.indexOf(' ');
  if (space < 0) return route === template;
  const ruleMethod = route.slice(0, space).toUpperCase();
  const rulePath = route.slice(space + 1).trim();
  return ruleMethod === method && (rulePath === '*' || rulePath === template);
}

export function createFaultInjector(options: { random: () => number; rules?: FaultRule[] }): FaultInjector {
  let rules = [...(options.rules ?? [])];
  const counts = new Map<string, number>();
  const fired = new Map<FaultRule, number>();
  const random = options.random;
  return {
    pick(method, template) {
      for (const rule of rules) {
        if (!matches(rule, method, template)) continue;
        if (rule.times !== undefined && (fired.get(rule) ?? 0) >= rule.times) continue;
        if (random() >= rule.rate || rule.kinds.length === 0) continue;
        fired.set(rule, (fired.get(rule) ?? 0) + 1);
        const kind = rule.kinds[Math.floor(random() * rule.kinds.length)] ?? 'server-error';
        // A rate limiter answers before any work is done, so `either` means `before` for 429s.
        const drawn =
          rule.phase === 'before' || rule.phase === 'after'
            ? rule.phase
            : kind === 'rate-limit' || random() < 0.5
              ? 'before'
              : 'after';
        // A delay comes before the work unless a rule asks for `after` by name.
        const phase = kind === 'latency' && rule.phase !== 'after' ? 'before' : drawn;
        counts.set(kind, (counts.get(kind) ?? 0) + 1);
        return {
          kind,
          phase,
          latencyMs: rule.latencyMs ?? 200,
          retryAfterSeconds: rule.retryAfterSeconds ?? 1,
          status: kind === 'status' ? (rule.status ?? 500) : STATUS_OF[kind],
          message: rule.message,
        };
      }
      return undefined;
    },
    setRules(next) {
      rules = [...next];
    },
    addRule(rule) {
      rules.push(rule);
    },
    clear() {
      rules = [];
    },
    rules() {
      return [...rules];
    },
    injected() {
      return Object.fromEntries(counts);
    },
  };
}
