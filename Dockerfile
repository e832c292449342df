# Node 24 runs the TypeScript sources directly (type stripping); no build step.
FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY src ./src
COPY migrations ./migrations
COPY bin ./bin
RUN mkdir -p /app/keys /app/data && chown -R node:node /app/keys /app/data
USER node
EXPOSE 3000
CMD ["node", "src/main.ts"]
