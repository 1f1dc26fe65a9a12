# syntax=docker/dockerfile:1
# The mp-pay server image: `docker build -t mp-pay-server .`, run with compose.yaml (README.md "Deploying").
#
# CI cannot pull images, so deploy/dockerfile-as-shell.sh runs this file's steps as plain shell and
# apps/server/test/deploy.test.ts starts the result. Keep to what that script understands: FROM <image> [AS
# <name>], WORKDIR, COPY [--from=<stage>] (no wildcards), RUN in shell form with paths relative to WORKDIR,
# ENV KEY=value, USER, EXPOSE, HEALTHCHECK [options] CMD [...], CMD [...] (exec form).

# --- build: the whole workspace with dev dependencies, compiled to apps/server/dist -----------------------------
FROM node:20-slim AS build
WORKDIR /build/repo
# The pinned pnpm (package.json "packageManager"); corepack's signature checks fail on some versions of Node 20.
RUN npm install --global pnpm@10.20.0
COPY . .
RUN pnpm install --frozen-lockfile
RUN pnpm build
# The server's production dependencies only (no vitest, esbuild, playwright), in ../server = /build/server.
# pnpm 10 deploys a workspace without inject-workspace-packages only with --legacy; our workspace packages are
# bundled into dist/main.js, so linking them differently would change nothing at run time.
RUN pnpm deploy --filter @mp-pay/server --prod --legacy ../server

# --- runtime: node, the production node_modules and dist/, nothing else ---------------------------------------
FROM node:20-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
# Owned by root and only readable by the server's user: the process cannot rewrite its own code.
COPY --from=build /build/server/package.json ./
COPY --from=build /build/server/node_modules ./node_modules
COPY --from=build /build/server/dist ./dist
USER node
EXPOSE 3000
# No curl in slim images: node asks /readyz (Redis reachable, not draining) on the port the server listens on.
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/readyz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Exec form: node is PID 1 and receives SIGTERM itself (docker stop), drains, and exits 0.
CMD ["node", "dist/main.js"]
