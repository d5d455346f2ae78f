"""Files that must never be half-written or readable by others: atomic private
writes and symlink-refusing reads (:mod:`.secure_file`), and bounded
cross-process locks (:mod:`.file_lock`). Standard library plus filelock only.
"""
