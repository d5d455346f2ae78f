"""Files that must never be half-written or readable by others: atomic private
writes and symlink-refusing, size-capped reads (:mod:`.secure_file`), a save's
space claimed before anything single-use is spent (:mod:`.reservation`),
temporary files named after their writer so a dead writer's are recognised
(:mod:`.temp_files`), SIGTERM held off during a save (:mod:`.term_guard`), and
bounded cross-process locks (:mod:`.file_lock`). Standard library plus filelock only.
"""
