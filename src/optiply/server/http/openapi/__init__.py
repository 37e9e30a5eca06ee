"""The OpenAPI 3.1 document of the whole API, generated from the resource registry.

Nothing here lists fields by hand: every path, schema and parameter of ``/v1`` is derived from
``REGISTRY``. Every rule a schema can state is stated where the server enforces it (ranges,
digit limits, lengths, non-blank names, case-insensitive enums, nullability, filter operators
per attribute), so a client or a fuzzer driven by the document sends what the server accepts
and reads what it answers; rules a schema cannot state (an offset that is a multiple of the
limit, ``data.id`` equal to the URL's, ``endDate`` not before ``startDate``) are described. The
sandbox's endpoints are written out (``sandbox``, ``sandbox_faults``, ``sandbox_controls``),
their input rules stated as ``sandbox.rules`` and ``sandbox.limits`` enforce them. The package
is pure (stdlib, ``optiply.resources``, the filter operators and ``sandbox.rules``); the HTTP
layer serves the dictionary that ``openapi_document`` returns.

Its modules, from the bottom up: ``common`` (small helpers), ``patterns`` (regular expressions
of values), ``attributes``, ``filters``, ``schemas``, ``parameters``, ``responses``, ``auth``,
``paths``, ``sandbox_faults``, ``sandbox_controls``, ``sandbox``, ``extensions`` (this server's
extensions, laid over the finished v1 document) and ``document``.
"""

from optiply.server.http.openapi.document import openapi_document
from optiply.server.http.openapi.filters import filter_operators

__all__ = ["filter_operators", "openapi_document"]
