# syntax=docker/dockerfile:1
# The emperor in a container (SPEC §8; docs/container.md explains every choice).
#
#   docker build -t emperor .
#   docker run --rm -p 8081:8081 emperor                      # the example vassal on :8081
#   docker run --rm -v "$PWD/vassals.d:/etc/emperor/vassals.d:ro" -v emperor-state:/var/lib/emperor emperor
#
# Two stages: `build` compiles the TypeScript and better-sqlite3's native module with the dev
# dependencies and a compiler; the runtime stage gets only production node_modules, the compiled
# JavaScript, tini (PID 1: reaps orphans, forwards signals) and util-linux (setpriv: each vassal
# drops to its own uid/gid with its supplementary groups).

ARG NODE_VERSION=22

# ---- build -----------------------------------------------------------------------------------
FROM node:${NODE_VERSION}-bookworm-slim AS build
# better-sqlite3 compiles from source when no prebuilt binary matches: python3, make, g++ (here only)
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# dependencies first (a layer that survives source edits); --ignore-scripts skips `prepare`
# (tsc: the sources are not copied yet), then better-sqlite3's own install script runs alone
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund \
 && npm rebuild better-sqlite3
COPY tsconfig.json ./
COPY shared ./shared
COPY emperor ./emperor
COPY vassal ./vassal
# compiled JavaScript only at run time (SPEC §1); then drop the dev dependencies (typescript, types...)
RUN npx tsc -p tsconfig.json \
 && npm prune --omit=dev --no-audit --no-fund \
 && node -e "require('better-sqlite3')(':memory:').close()"

# ---- runtime ---------------------------------------------------------------------------------
FROM node:${NODE_VERSION}-bookworm-slim AS runtime
# tini: PID 1 (Debian puts it at /usr/bin/tini); util-linux: setpriv (essential in Debian, named
# to be sure it stays)
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini util-linux \
 && rm -rf /var/lib/apt/lists/*

ENV NODE_ENV=production \
    EMPEROR_STATE=/var/lib/emperor/emperor.db

WORKDIR /app
COPY --from=build /src/package.json /src/package-lock.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY examples ./examples

# `emperor` on the PATH (the shebang runs node; Node resolves the symlink, so the worker and the
# forge are found next to the real file); the vassals directory and the state directory; an
# example vassal, hidden as soon as a directory or a ConfigMap is mounted over vassals.d
RUN chmod 0755 /app/dist/emperor/cli/index.js \
 && ln -s /app/dist/emperor/cli/index.js /usr/local/bin/emperor \
 && mkdir -p /etc/emperor/vassals.d /var/lib/emperor \
 && chmod 0700 /var/lib/emperor \
 && printf '%s\n' \
      '; the example vassal of the image: mount your own directory or ConfigMap over /etc/emperor/vassals.d' \
      '[vassal]' \
      'app = /app/examples/hello/app.mjs' \
      'http-socket = 0.0.0.0:8081' \
      > /etc/emperor/vassals.d/hello.ini \
 && emperor check /etc/emperor/vassals.d/hello.ini

# commands run in the container (`docker exec`, Kubernetes exec probes) start here, so
# `emperor reload NAME` finds ./vassals.d and every command finds the state through EMPEROR_STATE
WORKDIR /etc/emperor

# the state (SQLite, WAL) outlives the container when a volume is mounted here
VOLUME /var/lib/emperor
# the example vassal; the dashboard (127.0.0.1:9191) is on loopback and not published
EXPOSE 8081

# the emperor's answer to SIGTERM: stop every vassal gracefully in parallel (SIGKILL after each
# vassal's `mercy`, 10 s by default), exit 0. Give it more than the largest mercy:
# `docker stop -t 15`, Kubernetes terminationGracePeriodSeconds: 15.
STOPSIGNAL SIGTERM

HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["emperor", "status", "--health", "--state", "/var/lib/emperor/emperor.db"]

# tini is PID 1: it reaps the orphans vassals leave behind and forwards signals (-g: to the
# emperor's whole process group, so a helper the emperor runs gets them too; each vassal copy
# has its own group and is stopped by the emperor, gracefully, in parallel)
ENTRYPOINT ["tini", "-g", "--", "emperor", "run"]
# Replacing these replaces all of them: to publish the dashboard, give a token too, e.g.
#   docker run -e EMPEROR_DASHBOARD_TOKEN=$(openssl rand -hex 16) -p 9191:9191 emperor \
#     --vassals /etc/emperor/vassals.d --state /var/lib/emperor/emperor.db --dashboard 0.0.0.0:9191
CMD ["--vassals", "/etc/emperor/vassals.d", "--state", "/var/lib/emperor/emperor.db", "--dashboard", "127.0.0.1:9191"]
