# shellcheck shell=bash
# Sourced by .ci/run: steps that say how long each took, and fresh virtual environments.

_ci_started=$SECONDS
_ci_step_started=$SECONDS
_ci_step_name=""
_ci_times=()

ci_step() {
    # ci_step NAME: ends the step before (its time is kept for the summary), starts NAME.
    if [ -n "$_ci_step_name" ]; then
        _ci_times+=("$(printf '%-44s %4d s' "$_ci_step_name" $((SECONDS - _ci_step_started)))")
    fi
    _ci_step_name="$1"
    _ci_step_started=$SECONDS
    echo "== $1 (at $((SECONDS - _ci_started)) s)"
}

ci_times() {
    echo "== time per step"
    printf '   %s\n' "${_ci_times[@]}"
    printf '   %-44s %4d s\n' "total" $((SECONDS - _ci_started))
}

ci_venv() {
    # ci_venv DIR: a fresh virtual environment in DIR, with an up-to-date pip.
    python3 -m venv "$1"
    "$1/bin/python" -m pip install --quiet --upgrade pip
}
