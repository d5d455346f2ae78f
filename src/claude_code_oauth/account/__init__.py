"""What we know about the signed-in account: the ``status`` report (local file
first, the server only when asked), and its usage — the rate-limit headers of
every answer (``unified_limits``), kept by ``usage_capture`` in the snapshot file
(``usage_snapshot``), the usage endpoint (``usage_endpoint``), what ``usage``
shows (``usage_report``) and the extra-usage guard (``extra_usage_guard``).
"""
