# One image for the service and the dashboard; the command picks which.
# The first stage compiles the hot path with mypyc (setup.py, SIGNAAL_COMPILE=1) into a wheel, type-checked
# against the installed libraries as `make compile` does; the image itself carries no compiler.
FROM python:3.11-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml setup.py README.md alembic.ini ./
COPY app ./app
COPY streams ./streams
COPY dashboard ./dashboard
RUN pip install --no-cache-dir . "mypy>=1.13" "setuptools>=77" wheel \
    && SIGNAAL_COMPILE=1 pip wheel --no-cache-dir --no-build-isolation --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
WORKDIR /srv/signaal
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
COPY alembic.ini ./
COPY playbooks ./playbooks
ENV SIGNAAL_HOST=0.0.0.0 SIGNAAL_PLAYBOOK_DIR=/srv/signaal/playbooks
EXPOSE 8000 8050
CMD ["signaal", "serve"]
