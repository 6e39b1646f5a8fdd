/**
 * The emulator's token checks: the Machines API takes `Bearer <token>` (or `FlyV1 <token>`), the
 * registry HTTP Basic with the token as password, as Fly's do.
 */
export interface EmulatorAuth {
  api(header: string | undefined): boolean;
  registry(header: string | undefined): boolean;
}

export function emulatorAuth(token: string): EmulatorAuth {
  const bare = (value: string) => value.replace(/^FlyV1\s+/, '').trim();
  return {
    api: (header) => {
      if (!header) return false;
      let value = header.trim();
      if (/^bearer\s+/i.test(value)) value = value.replace(/^bearer\s+/i, '');
      return bare(value) === bare(token);
    },
    registry: (header) => {
      if (!header?.startsWith('Basic ')) return false;
      const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      return colon >= 0 && bare(decoded.slice(colon + 1)) === bare(token);
    },
  };
}
