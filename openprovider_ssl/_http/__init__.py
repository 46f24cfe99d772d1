"""The HTTP edge: the one place that touches the network and the credentials.

``transport`` sends a request over the client's aiohttp session and maps every failure to the
error tree; ``auth`` supplies the bearer token (a fixed token, or a cached login);
``secrets`` keeps tokens and passwords out of errors and logs.
"""
