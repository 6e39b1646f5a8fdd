/**
 * The regions `GET /v1/platform/regions` lists (2026 spec, `main.regionResponse`): Fly's current
 * regions and, marked deprecated, the ones it consolidated away in 2025.
 */
export interface RegionRow {
  code: string;
  name: string;
  deprecated: boolean;
  gateway_available: boolean;
  geo_region: string;
  latitude: number;
  longitude: number;
  mpg_available: boolean;
  requires_paid_plan: boolean;
}

const row = (
  code: string,
  name: string,
  geo: string,
  latitude: number,
  longitude: number,
  deprecated = false,
): RegionRow => ({
  code,
  name,
  deprecated,
  gateway_available: !deprecated,
  geo_region: geo,
  latitude,
  longitude,
  mpg_available: !deprecated,
  requires_paid_plan: false,
});

export const FLY_REGIONS: readonly RegionRow[] = [
  row('ams', 'Amsterdam, Netherlands', 'eu', 52.374342, 4.895439),
  row('arn', 'Stockholm, Sweden', 'eu', 59.6512, 17.9178),
  row('bom', 'Mumbai, India', 'ap', 19.097403, 72.874245),
  row('cdg', 'Paris, France', 'eu', 48.860875, 2.353477),
  row('dfw', 'Dallas, Texas (US)', 'na', 32.778287, -96.7984),
  row('ewr', 'Secaucus, NJ (US)', 'na', 40.789543, -74.056481),
  row('fra', 'Frankfurt, Germany', 'eu', 50.1167, 8.6833),
  row('gru', 'Sao Paulo, Brazil', 'sa', -23.549664, -46.654351),
  row('iad', 'Ashburn, Virginia (US)', 'na', 39.02214, -77.462556),
  row('jnb', 'Johannesburg, South Africa', 'af', -26.13629, 28.200302),
  row('lax', 'Los Angeles, California (US)', 'na', 33.9416, -118.4085),
  row('lhr', 'London, United Kingdom', 'eu', 51.516434, -0.125656),
  row('nrt', 'Tokyo, Japan', 'ap', 35.621582, 139.741898),
  row('ord', 'Chicago, Illinois (US)', 'na', 41.891083, -87.633942),
  row('sin', 'Singapore, Singapore', 'ap', 1.3, 103.8),
  row('sjc', 'San Jose, California (US)', 'na', 37.351601, -121.896744),
  row('syd', 'Sydney, Australia', 'oc', -33.866034, 151.216933),
  row('yyz', 'Toronto, Canada', 'na', 43.644466, -79.384362),
  row('bog', 'Bogotá, Colombia', 'sa', 4.70159, -74.1469, true),
  row('bos', 'Boston, Massachusetts (US)', 'na', 42.366978, -71.022362, true),
  row('den', 'Denver, Colorado (US)', 'na', 39.7392, -104.9903, true),
  row('eze', 'Ezeiza, Argentina', 'sa', -34.8222, -58.5358, true),
  row('gdl', 'Guadalajara, Mexico', 'na', 20.5217, -103.3109, true),
  row('hkg', 'Hong Kong, Hong Kong', 'ap', 22.250337, 114.203537, true),
  row('mad', 'Madrid, Spain', 'eu', 40.4381, -3.82, true),
  row('mia', 'Miami, Florida (US)', 'na', 25.7877, -80.2241, true),
  row('otp', 'Bucharest, Romania', 'eu', 44.4325, 26.1039, true),
  row('phx', 'Phoenix, Arizona (US)', 'na', 33.416084, -112.009609, true),
  row('qro', 'Querétaro, Mexico', 'na', 20.6193, -100.1857, true),
  row('scl', 'Santiago, Chile', 'sa', -33.4489, -70.6693, true),
  row('sea', 'Seattle, Washington (US)', 'na', 47.6097, -122.3331, true),
  row('waw', 'Warsaw, Poland', 'eu', 52.1657, 20.9671, true),
  row('yul', 'Montreal, Canada', 'na', 45.48647, -73.75549, true),
];
