"""What the SDK costs against hand-written aiohttp, and how close it comes to its limits.

Run ``python -m benchmarks --quick`` (seconds) or ``python -m benchmarks --output out.json``
(the full run, several minutes); see ``benchmarks/run.py``.
"""
