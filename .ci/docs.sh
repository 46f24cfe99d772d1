# shellcheck shell=bash
# Sourced by .ci/run: (c) the documentation site, built strict (any warning fails: a broken
# link, a docstring mkdocstrings cannot read, a page left out of the navigation), in the newest
# environment (the docs extra).

ci_step "docs: mkdocs build --strict"
mkdocs build --strict --site-dir "$(mktemp -d)/site"
