# One image for the service and the dashboard; the command picks which.
# The first stage compiles the hot path with mypyc (setup.py, SIGNAAL_COMPILE=1), type-checked against the
# installed libraries as `make compile` does, and gathers every wheel; the image installs exactly those
# wheels and carries no compiler.
FROM python:3.11-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY app ./app
COPY streams ./streams
COPY dashboard ./dashboard
RUN pip install --no-cache-dir . "mypy>=1.13" "setuptools>=77" wheel \
    && SIGNAAL_COMPILE=1 pip wheel --no-cache-dir --no-build-isolation --wheel-dir /wheels .

FROM python:3.11-slim
WORKDIR /srv/signaal
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links /wheels signaal
COPY alembic.ini ./
COPY playbooks ./playbooks
ENV SIGNAAL_HOST=0.0.0.0 SIGNAAL_PLAYBOOK_DIR=/srv/signaal/playbooks
EXPOSE 8000 8050
CMD ["signaal", "serve"]
