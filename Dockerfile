# syntax=docker/dockerfile:1
# The vyxbot image: the Slack bot and its watchers, started as `node src/main.ts` with
# two V8 flags (the same entry and flags as `npm start`). Build from the repository root:
#   docker build -t registry.fly.io/<bot-app>:git-$(git rev-parse --short=12 HEAD) .
# (The image of the machines the bot creates is runtime/Dockerfile, a different image.)
# .dockerignore keeps the build context to the files copied below.

ARG NODE_VERSION=24.21.0

# 1. Production dependencies only, exactly as locked (no dev tools, no install scripts).
FROM node:${NODE_VERSION}-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
  && npm cache clean --force

# 2. The bot: Node 24 runs the TypeScript sources directly (type stripping), so there is no build
#    stage and the image holds the sources as they are in the repository.
FROM node:${NODE_VERSION}-slim
# Production mode: no local twin ever starts; missing credentials stop start-up (exit 78).
ENV NODE_ENV=production \
    VYX_MODE=production \
    PORT=3000 \
    HOST=0.0.0.0 \
    LOG_FORMAT=json \
    VYX_DATA_DIR=/data
WORKDIR /app
# Owned by root and read-only to the process: the bot never writes to its own code.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json ./
COPY src ./src
# Migrations: for the local twin (DATABASE_URL), and the reference of what `supabase db push` applied.
COPY supabase ./supabase
# Runbooks: diagnosis cards link docs/diagnoses/<CODE>.md (set VYX_RUNBOOK_URL to a URL people can open).
COPY docs ./docs
# The only writable place: VYX_DATA_DIR (local state; nothing there is needed with real services).
RUN mkdir -p /data && chown node:node /data
# The official image's unprivileged user (uid 1000).
USER node
# /healthz and /readyz's status (and /slack/events with the HTTP receiver); metrics and readiness
# details need VYX_OPS_TOKEN here, or come from the internal VYX_OPS_PORT.
EXPOSE 3000
# SIGTERM: stop taking commands, finish work in flight within VYX_SHUTDOWN_TIMEOUT_S (default 10),
# give leases back, exit 0. Fly's kill_timeout (fly.toml) must be longer than that.
STOPSIGNAL SIGTERM
# The stuck watcher's tick allocates much and briefly (request and answer bodies, a page of rows
# and diagnoses) while little stays live (~70-100 MB). Semi-spaces of 8 MB at most (V8 sizes them
# by the host's memory, larger) took a 10,000-row tick's peak RSS from ~250 MB to ~175 MB for no
# more CPU; the old generation collected at 1.2 × what is live (V8 lets it grow to ~4 ×) took a
# 100,000-row tick's from ~450 MB to ~240 MB, for ~30% more of the tick's CPU at that size
# (bench/scenarios/tick.ts). npm start runs the same flags, and so do the benchmarks' bot
# processes (bench/lib.ts BOT_NODE_FLAGS).
CMD ["node", "--max-semi-space-size=8", "--heap-growing-percent=20", "src/main.ts"]
