# Peerline bot image: `docker build -t peerline .` then
# `docker run -e PEERLINE_BOT_TOKEN=... -v peerline-data:/data peerline`
FROM python:3.11-slim AS build
WORKDIR /app
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
# Install the dependencies only; the code runs from /app, beside content/, locales/, migrations/.
RUN pip install --no-cache-dir . && pip uninstall --yes peerline
COPY locales ./locales
RUN python -m babel.messages.frontend compile -d locales -D messages --use-fuzzy

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 peerline && mkdir /data && chown peerline /data
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY --from=build /app/locales ./locales
COPY bot ./bot
COPY handlers ./handlers
COPY content ./content
COPY migrations ./migrations
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PEERLINE_DATA_DIR=/data
USER peerline
VOLUME ["/data"]
# `run` applies the database migrations first, then starts the bot.
ENTRYPOINT ["python", "-m", "bot"]
CMD ["run"]
