#!/usr/bin/env bash
# The whole suite, as CI runs it: services, lint, types, migrations, deploy checks, pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
# A developer's .env (and what their `make run` chose) stays out of the suite.
export LEGUAS_ENV_FILE=

scripts/services.sh
[ -x scripts/browser.sh ] && scripts/browser.sh

step() { echo; echo "==> $*"; }

step "ruff"
ruff check .
ruff format --check .

step "mypy"
DEBUG=true mypy .

step "makemigrations --check"
DEBUG=true python manage.py makemigrations --check --dry-run

step "check --deploy (production-like settings)"
DEBUG=false \
SECRET_KEY="ci-$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
ALLOWED_HOSTS=whatsapp.example.com \
CSRF_TRUSTED_ORIGINS=https://whatsapp.example.com \
WPPCONNECT_SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(24))')" \
WHATSAPP_ENCRYPTION_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(32))')" \
WHATSAPP_PUBLIC_URL=https://whatsapp.example.com \
DATABASE_URL=postgres://postgres:postgres@127.0.0.1:5432/test \
python manage.py check --deploy --fail-level WARNING

step "pytest (PostgreSQL, Redis)"
export DEBUG=true
export DATABASE_URL=${TEST_DATABASE_URL:-postgres://postgres:postgres@127.0.0.1:5432/test}
# Database 14/15 of the local Redis: a `make run` on the same machine keeps its own data.
export CELERY_BROKER_URL=${TEST_BROKER_URL:-redis://127.0.0.1:6379/14}
export CACHE_URL=${TEST_CACHE_URL:-redis://127.0.0.1:6379/15}
export LEGUAS_TEST_FLUSH_BROKER=1
# Threads of the live server and of concurrency tests must not keep connections past a request.
export DATABASE_CONN_MAX_AGE=0
# Test files run in parallel processes (pytest-xdist; each with its own test database and its
# own Redis server, tests/isolation.py): most of the suite waits on workers, browsers and the
# simulator rather than on the CPU. PYTEST_PROCESSES=0 runs everything in this one process.
set +e
python -m pytest -n "${PYTEST_PROCESSES:-3}" --dist loadfile "$@"
rc=$?
set -e
if [ "$rc" = 5 ]; then
  echo "error: pytest collected no tests." >&2
fi
exit "$rc"
