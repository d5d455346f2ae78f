"""What we know about the signed-in account: the ``status`` report (local file
first, the server only when asked).
"""
