"""What we know about the signed-in account: the ``status`` report (local file
first, the server only when asked), and its usage — the rate-limit headers of
every answer (``unified_limits``, with ``header_values`` and the offers that are not
windows in ``limit_offers``), kept by ``usage_capture`` in the snapshot file
(``usage_snapshot``), the usage endpoint and the profile's plan (``usage_endpoint``
asks, ``endpoint_answers`` reads), what ``usage`` reports (``usage_report``, its
lines for people in ``usage_lines``) and the extra-usage guard (``extra_usage_guard``).
"""
