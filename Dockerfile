# One image for the web app and the Celery workers; the command picks the role (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PREFLAB_DATA_DIR=/data

# Extras to install on top of the base dependencies, e.g. "ml" for the GPU worker's image.
ARG PREFLAB_EXTRAS=""
# Where torch comes from: PyPI's default wheel carries CUDA (the GPU worker); the CPU worker passes
# https://download.pytorch.org/whl/cpu to get the much smaller CPU build.
ARG TORCH_INDEX=""

WORKDIR /srv/preflab

# Dependencies first, read from pyproject.toml, so that a code change does not reinstall them.
COPY pyproject.toml ./
RUN python -c "import os, tomllib; \
p = tomllib.load(open('pyproject.toml', 'rb'))['project']; \
extras = [e for e in os.environ.get('PREFLAB_EXTRAS', '').split(',') if e]; \
print('\n'.join(p['dependencies'] + [r for e in extras for r in p['optional-dependencies'][e]]))" \
    > /tmp/requirements.txt \
    && pip install ${TORCH_INDEX:+--extra-index-url "$TORCH_INDEX"} -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# An editable install: templates, static files and migrations stay where the code expects them.
COPY . .
RUN pip install --no-deps -e . \
    && useradd --system --create-home --uid 1000 preflab \
    && mkdir -p /data \
    && chown preflab:preflab /data

USER preflab
VOLUME ["/data"]
EXPOSE 8000
CMD ["preflab", "serve", "--host", "0.0.0.0", "--port", "8000"]
