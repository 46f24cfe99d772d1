# Sourced by .ci/run: installs and starts redis-server on loopback, stops it on exit.
# Filled in by the shared-limits work (issue 9); until then it does nothing.
:
