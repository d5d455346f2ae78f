"""Claude's models: discovery through the API, our entries in Code Puppy's
``extra_models.json`` (written back byte-for-byte around them), and the
pydantic-ai model that serves a registered entry.
"""
