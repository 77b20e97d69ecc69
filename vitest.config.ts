// One vitest config for the whole monorepo: a project per package under packages/* and apps/*.
// (Older vitest used a root `vitest.workspace.ts`; current vitest takes `test.projects` here instead.)
import { readdirSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { defineConfig } from 'vitest/config'

const projectDirs = ['packages', 'apps'].flatMap((group) =>
  existsSync(group)
    ? readdirSync(group, { withFileTypes: true })
        .filter((d) => d.isDirectory() && existsSync(join(group, d.name, 'test')))
        .map((d) => join(group, d.name))
    : []
)

export default defineConfig({
  test: {
    // One test file at a time: several files start networks of real processes and measure latency,
    // memory and timeouts (the hostile-peer test, the transport's pre-authentication floods), which
    // two files competing for the machine's 2 cores would distort.
    fileParallelism: false,
    projects: projectDirs.map((dir) => ({
      test: {
        // Packages by name (`pubsub`); apps prefixed (`app-cli`, `app-coordinator`): names must be unique.
        name: dir.startsWith('apps/') ? `app-${dir.split('/')[1]}` : (dir.split('/')[1] ?? dir),
        root: dir,
        include: ['test/**/*.test.ts'],
        testTimeout: 60_000,
        hookTimeout: 60_000
      }
    }))
  }
})
