# shellcheck shell=bash
# Sourced by .ci/run: (b) the lowest versions pyproject.toml declares for the direct
# dependencies (uv's lowest-direct resolution), in a second environment, and the test suite on
# them: the declared floors must be true. Raise a floor when the code or the tests need more.

ci_step "lowest: install"
ci_lowest_venv="$(mktemp -d)/lowest"
python3 -m venv "$ci_lowest_venv"
# uv resolves the lowest versions; it runs from the newest environment (a CI tool, not a
# dependency of the project).
python -m pip install --quiet uv
uv pip install --quiet --python "$ci_lowest_venv/bin/python" --resolution lowest-direct \
    -e '.[dev]' --config-setting editable_mode=compat
uv pip list --python "$ci_lowest_venv/bin/python" 2>/dev/null |
    awk 'tolower($1) ~ /^(aiohttp|attrs|cattrs|tenacity|click|rich|redis|psycopg|pytest|pytest-asyncio|aioresponses|hypothesis|schemathesis)$/ { printf "%s==%s ", $1, $2 } END { print "" }'

ci_step "lowest: tests"
"$ci_lowest_venv/bin/python" -m pytest
