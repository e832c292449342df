import { readFile } from 'node:fs/promises';

/**
 * Summarises a V8 .cpuprofile (written by `node --cpu-prof`): self time per
 * function and per area (oidc-provider, Latchkey's src/, pg, kysely, Node
 * internals, GC, …), idle time left out of the percentages.
 */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  file: string;
  busy_ms: number;
  idle_ms: number;
  areas: { area: string; self_ms: number; pct: number }[];
  functions: { fn: string; where: string; area: string; self_ms: number; pct: number }[];
}

export function areaOf(url: string, functionName: string): string {
  if (!url) {
    if (functionName === '(garbage collector)') return 'GC';
    if (functionName === '(idle)') return 'idle';
    return functionName.startsWith('(') ? `${functionName} (native)` : 'native';
  }
  const pkg = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith('node:')) return 'node internals';
  if (/\/src\//.test(url)) return 'latchkey src';
  if (/\/bench\//.test(url)) return 'bench';
  if (/\/test\//.test(url)) return 'test helpers';
  return 'other';
}

export async function summarizeProfile(file: string, top = 25): Promise<ProfileSummary> {
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  // timeDeltas[i + 1] is the time spent in the frame sampled at i.
  for (let i = 0; i < profile.samples.length; i += 1) {
    const id = profile.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? 0));
  }
  const functions = new Map<string, { fn: string; where: string; area: string; us: number }>();
  const areas = new Map<string, number>();
  let idle = 0;
  let busy = 0;
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const area = areaOf(url, functionName);
    if (area === 'idle') { idle += us; continue; }
    busy += us;
    areas.set(area, (areas.get(area) ?? 0) + us);
    const where = url ? `${shortUrl(url)}:${lineNumber + 1}` : '';
    const key = `${functionName}@${where}`;
    const entry = functions.get(key) ?? { fn: functionName || '(anonymous)', where, area, us: 0 };
    entry.us += us;
    functions.set(key, entry);
  }
  const ms = (us: number) => Math.round(us / 100) / 10;
  const pct = (us: number) => Math.round((1000 * us) / (busy || 1)) / 10;
  return {
    file,
    busy_ms: ms(busy),
    idle_ms: ms(idle),
    areas: [...areas].sort((a, b) => b[1] - a[1]).map(([area, us]) => ({ area, self_ms: ms(us), pct: pct(us) })),
    functions: [...functions.values()].sort((a, b) => b.us - a.us).slice(0, top)
      .map(({ fn, where, area, us }) => ({ fn, where, area, self_ms: ms(us), pct: pct(us) })),
  };
}

/**
 * The share of the busy time spent in code of the files `owns` picks (and
 * in the natives and Node internals that code calls): each sample goes to
 * the innermost frame that has a file of its own. Unlike inclusive time, a
 * wrapper that awaits the rest of the chain (a middleware) is charged only
 * for its own lines, not for what runs below it.
 */
export async function shareOf(file: string, owns: (url: string) => boolean): Promise<{ busy_ms: number; owned_ms: number; pct: number }> {
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  let busy = 0;
  let owned = 0;
  for (let i = 0; i < profile.samples.length; i += 1) {
    const id = profile.samples[i]!;
    const us = profile.timeDeltas[i + 1] ?? 0;
    const leaf = byId.get(id)!.callFrame;
    if (areaOf(leaf.url, leaf.functionName) === 'idle') continue;
    busy += us;
    for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) {
      const { url } = byId.get(at)!.callFrame;
      if (!url || url.startsWith('node:')) continue;
      if (owns(url)) owned += us;
      break;
    }
  }
  return { busy_ms: Math.round(busy / 1000), owned_ms: Math.round(owned / 1000), pct: Math.round((10_000 * owned) / (busy || 1)) / 100 };
}

function shortUrl(url: string): string {
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) return url.slice(modules + '/node_modules/'.length);
  const src = url.search(/\/(src|bench|test)\//);
  return src >= 0 ? url.slice(src + 1) : url.replace(/^file:\/\//, '');
}

export function formatProfile(title: string, summary: ProfileSummary, topFunctions = 15, topAreas = 10): string {
  return [
    `${title}: ${summary.busy_ms} ms busy, ${summary.idle_ms} ms idle (${summary.file})`,
    '  self time by area:',
    ...summary.areas.slice(0, topAreas).map((a) => `    ${String(a.pct).padStart(5)}%  ${String(a.self_ms).padStart(9)} ms  ${a.area}`),
    '  top functions by self time:',
    ...summary.functions.slice(0, topFunctions).map((f) => `    ${String(f.pct).padStart(5)}%  ${String(f.self_ms).padStart(9)} ms  ${f.fn}  ${f.where}`),
  ].join('\n');
}
