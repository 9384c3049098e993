// Resolves a generated fleet with the library's planExport and prints how long planExport took (the
// fleet is generated before the clock starts). Run as its own process so its peak RSS is its own:
// node bench/lib/resolve-fleet.mjs CLUSTERS PROFILES SEED
import { generateFleet } from './fleet.mjs';

const [clusters, profiles, seed] = process.argv.slice(2);
const { planExport } = await import('../../dist/resolve/plan.js');
const objects = generateFleet({ clusters: Number(clusters), profiles: Number(profiles), seed });
const now = new Date('2026-01-01T00:00:00Z');
const started = performance.now();
const plan = await planExport({ objects, now });
const seconds = (performance.now() - started) / 1000;
const size = (v) => (Array.isArray(v) ? v.length : v instanceof Map ? v.size : v && typeof v === 'object' ? Object.keys(v).length : undefined);
process.stdout.write(`${JSON.stringify({ seconds, objects: objects.length, planned: size(plan?.clusters ?? plan) })}\n`);
