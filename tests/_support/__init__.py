"""Helpers the tests share, one small module each, imported absolutely
(``from tests._support.threaded_fake import ThreadedFake``).

Modules that define fixtures (``mocked_api``, ``redis_server``) are loaded as plugins by
``tests/conftest.py`` (``pytest_plugins``); conftest files hold fixtures only and are never
imported from.
"""
