# core-api on Node.js 24 (the source runs through Node's type stripping: no build step for the
# server). Embedded database in the /data volume by default; set DATABASE_URL (and REDIS_URL)
# for PostgreSQL. See docs/deploy.md.

# The dashboard (web/) is static: built here with the devDependencies, copied into the image.
FROM node:24-bookworm-slim AS dashboard
WORKDIR /build
COPY package.json package-lock.json ./
COPY packages/sdk/package.json ./packages/sdk/
COPY web/package.json ./web/
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY packages/sdk ./packages/sdk
COPY web ./web
RUN npm run dashboard:build

FROM node:24-bookworm-slim

ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000 DATA_DIR=/data
WORKDIR /app

# Production dependencies only; no install scripts (the dashboard's build ran above).
COPY package.json package-lock.json ./
COPY packages/sdk/package.json ./packages/sdk/
COPY web/package.json ./web/
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

COPY bin ./bin
COPY config ./config
COPY drizzle ./drizzle
COPY src ./src
COPY --from=dashboard /build/web/dist ./web/dist

RUN mkdir -p /data && chown node:node /data
USER node
VOLUME /data
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s \
  CMD node -e "fetch('http://127.0.0.1:' + process.env.PORT + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"

# SIGTERM finishes the requests in flight, then exits.
CMD ["node", "src/main.ts"]
