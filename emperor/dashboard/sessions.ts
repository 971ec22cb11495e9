// Dashboard sessions (SPEC §6): what the page's cookie holds instead of the token. Browsers send
// a host's cookies to every port of it, so any vassal serving on the same host name receives the
// cookie: it must not be the token. A session is a random id with its expiry, signed with a key
// derived from the token (HMAC-SHA256): bound to the token (a new token ends every session),
// expiring, and still valid after an emperor restart, so an open page reconnects on its own
// (a per-process map of ids would log every browser out at each restart or upgrade).
import crypto from 'node:crypto';

/** a session lasts this long from the ?token= link that opened it */
export const SESSION_TTL_MS = 8 * 60 * 60 * 1000;

const FORMAT = /^([A-Za-z0-9_-]{22})\.(\d{1,15})\.([A-Za-z0-9_-]{43})$/;

export class Sessions {
  readonly #key: Buffer;

  constructor(
    token: string,
    private readonly ttlMs = SESSION_TTL_MS,
  ) {
    // a key of its own: the cookie's MAC says nothing usable about the token
    this.#key = crypto.createHmac('sha256', 'emperor dashboard session').update(token, 'utf8').digest();
  }

  /** A new session (its holder presented the token just now): `ID.EXPIRY.MAC`. */
  open(now = Date.now()): string {
    const id = crypto.randomBytes(16).toString('base64url');
    const exp = String(now + this.ttlMs);
    return `${id}.${exp}.${this.#mac(id, exp)}`;
  }

  /** Is `value` a session this token signed, not yet expired? Constant time in the MAC. */
  valid(value: string, now = Date.now()): boolean {
    const m = FORMAT.exec(value);
    if (!m) return false;
    const [, id, exp, mac] = m as unknown as [string, string, string, string];
    const expected = Buffer.from(this.#mac(id, exp));
    const given = Buffer.from(mac);
    if (!(given.length === expected.length && crypto.timingSafeEqual(given, expected))) return false;
    return Number(exp) > now;
  }

  #mac(id: string, exp: string): string {
    return crypto.createHmac('sha256', this.#key).update(`${id}.${exp}`).digest('base64url');
  }
}
