// The environment a helm process gets: private homes, a tuned Go runtime, and the user's own Go settings kept.
// A shell script stands in for helm here: it prints what it was given as a ConfigMap.
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { goRuntimeEnv, renderChart } from './helm-render.js';

const dirs: string[] = [];
afterEach(async () => Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true }))));

const ENV_ECHO = `#!/bin/sh
cat >/dev/null
printf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n  name: env\\ndata:\\n  GOGC: "%s"\\n  GOMAXPROCS: "%s"\\n  home: "%s"\\n  helmData: "%s"\\n' "$GOGC" "$GOMAXPROCS" "$HOME" "$HELM_DATA_HOME"
`;

describe('helm environment', () => {
  it('runs helm with private homes and the tuned Go runtime', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'helm-env-'));
    dirs.push(dir);
    await writeFile(join(dir, 'helm'), ENV_ECHO);
    await chmod(join(dir, 'helm'), 0o755);
    const out = await renderChart({ helm: join(dir, 'helm'), chart: join(dir, 'chart.tgz'), releaseName: 'r', releaseNamespace: 'ns', values: '', kubeVersion: 'v1.30.0', home: join(dir, 'home') });
    expect(out.manifest[0]?.data).toEqual({ GOGC: '400', GOMAXPROCS: '1', home: join(dir, 'home'), helmData: join(dir, 'home', 'data') });
  });

  it('keeps Go runtime settings the user made', () => {
    expect(goRuntimeEnv({})).toEqual({ GOGC: '400', GOMAXPROCS: '1' });
    expect(goRuntimeEnv({ GOGC: '100', GOMAXPROCS: '' })).toEqual({ GOGC: '100', GOMAXPROCS: '1' });
  });
});
