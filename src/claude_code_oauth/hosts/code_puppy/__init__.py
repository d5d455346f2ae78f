"""The Code Puppy adapter. :mod:`.plugin` is the ``code_puppy.plugins`` entry
point; it stays thin and maps Code Puppy's hooks onto the core. This
``__init__`` imports nothing, so importing the package never imports Code Puppy.
"""
