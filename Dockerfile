# Multi-stage: build a wheel-installed virtualenv, then copy it into a slim runtime
# image that runs the production server (`python -m app.serve`) as an unprivileged user.
FROM python:3.11-slim AS build
WORKDIR /src
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY pyproject.toml README.md ./
COPY app ./app
RUN pip install --no-cache-dir --upgrade pip && pip install --no-cache-dir .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 madoguchi
WORKDIR /srv/madoguchi
COPY --from=build /opt/venv /opt/venv
COPY alembic.ini ./
COPY migrations ./migrations
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    ENVIRONMENT=production \
    HOST=0.0.0.0 \
    PORT=8000
USER madoguchi
EXPOSE 8000
# Migrations run as a separate step of a deployment: `alembic upgrade head`.
# WEB_CONCURRENCY workers (uvloop + httptools). X-Forwarded-For is believed only from
# FORWARDED_ALLOW_IPS (the balancer's addresses; none by default): set it at `docker run`.
CMD ["python", "-m", "app.serve"]
