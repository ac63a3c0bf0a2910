# One image for the service and the dashboard; the command picks which.
FROM python:3.11-slim
WORKDIR /srv/signaal
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY streams ./streams
COPY dashboard ./dashboard
RUN pip install --no-cache-dir .
COPY playbooks ./playbooks
ENV SIGNAAL_HOST=0.0.0.0 SIGNAAL_PLAYBOOK_DIR=/srv/signaal/playbooks
EXPOSE 8000 8050
CMD ["signaal", "serve"]
