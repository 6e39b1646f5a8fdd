import { describe, expect, it } from 'vitest';
import { createFlyMachinesClient } from '../../src/fly/machines-client.ts';
import { createRegionCatalogue } from '../../src/fly/region-catalogue.ts';
import { createFlyEmulator } from '../../src/local/fly-emulator/fly-emulator.ts';
import spec from '../fixtures/fly/fly-platform-regions.json' with { type: 'json' };

describe('Fly regions', () => {
  it('the emulator serves GET /v1/platform/regions as Fly does: no token needed, main.regionResponse', async () => {
    const emulator = await createFlyEmulator({ apps: { 'vyx-app': {} } });
    try {
      const r = await fetch(`${emulator.baseUrl}/v1/platform/regions`);
      expect(r.status).toBe(200);
      const body = (await r.json()) as { nearest: string; regions: Record<string, unknown>[] };
      const rowKeys = Object.keys(spec.schemas['main.regionRow'].properties).sort();
      expect(Object.keys(body).sort()).toEqual(
        Object.keys(spec.schemas['main.regionResponse'].properties).sort(),
      );
      for (const row of body.regions) expect(Object.keys(row).sort()).toEqual(rowKeys);
      expect(body.regions.map((row) => row.code)).toEqual(expect.arrayContaining(['ams', 'ord', 'iad']));
      const regions = await createFlyMachinesClient({
        baseUrl: emulator.baseUrl,
        token: 'wrong',
      }).listRegions();
      expect(regions.find((row) => row.code === 'ams')).toEqual({
        code: 'ams',
        name: 'Amsterdam, Netherlands',
        deprecated: false,
      });
    } finally {
      await emulator.close();
    }
  });

  it('the catalogue asks Fly once per hour, says unknown with the current codes, and unverified when Fly is down', async () => {
    let t = 0;
    let calls = 0;
    let down = false;
    const fly = {
      listRegions: async () => {
        calls++;
        if (down) throw new Error('FLY_UNAVAILABLE');
        return [
          { code: 'ams', name: 'Amsterdam', deprecated: false },
          { code: 'ord', name: 'Chicago', deprecated: false },
          { code: 'mad', name: 'Madrid', deprecated: true },
        ];
      },
    };
    const catalogue = createRegionCatalogue(fly, { ttlMs: 3_600_000, retryMs: 30_000, now: () => t });
    await catalogue.warm();
    expect(await catalogue.check('ams')).toMatchObject({ status: 'known' });
    expect(await catalogue.check('mad')).toMatchObject({ status: 'known', deprecated: true });
    expect(await catalogue.check('xyz')).toEqual({ status: 'unknown', code: 'xyz', regions: ['ams', 'ord'] });
    expect(calls).toBe(1);
    t = 3_600_001;
    down = true;
    // Stale and Fly down: the last list still answers.
    expect(await catalogue.check('xyz')).toMatchObject({ status: 'unknown' });
    expect(calls).toBe(2);

    const cold = createRegionCatalogue(fly, { retryMs: 30_000, now: () => t });
    expect(await cold.check('ams')).toMatchObject({ status: 'unverified', reason: 'FLY_UNAVAILABLE' });
    expect(await cold.check('ams')).toMatchObject({ status: 'unverified' });
    expect(calls).toBe(3); // not asked again within retryMs
    down = false;
    t += 30_001;
    expect(await cold.check('ams')).toMatchObject({ status: 'known' });
  });
});
