# shellcheck shell=bash
# Sourced by .ci/run: (a) the newest versions the project allows, installed as the README says
# (editable, compat mode: type checkers outside the checkout find the package), then lint,
# types (the package and the tests) and the README's test command. Leaves that environment
# active for the docs step.

ci_step "newest: install"
ci_newest_venv="$(mktemp -d)/newest"
ci_venv "$ci_newest_venv"
# shellcheck disable=SC1091
. "$ci_newest_venv/bin/activate"
python -m pip install --quiet -e '.[dev,docs]' --config-settings editable_mode=compat
pip list --format=freeze 2>/dev/null | grep -iE '^(aiohttp|attrs|cattrs|tenacity|click|rich|redis|psycopg|pytest|pytest-asyncio|aioresponses|hypothesis|schemathesis)==' | tr '\n' ' ' || true
echo

ci_step "newest: ruff"
ruff check .
ci_step "newest: mypy --strict"
mypy --strict openprovider_ssl
# The tests too, tests/typing/ included: it pins the public API's types with assert_type.
mypy --strict tests
# And the benchmarks, whose figures the README quotes.
mypy --strict benchmarks
ci_step "newest: tests (the README's test command)"
python -m pytest
