// pnpm hooks for this workspace.
//
// beforePacking (pnpm >= 10.28) runs on the manifest that `pnpm pack` and `pnpm publish` (and so
// `changeset publish`) write into a tarball: published packages lose their devDependencies, which name
// private workspace tooling (@detkit/tsconfig, @detkit/vitest-config, ...) that is never published. The
// consumer suite (tooling/consumer) checks the packed manifests.
module.exports = {
  hooks: {
    beforePacking(pkg) {
      delete pkg.devDependencies;
      return pkg;
    },
  },
};
