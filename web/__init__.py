"""The chat page's templates and static files, shipped inside the package as ``peruqa.web.assets``.

This folder stays at the top of the repository so designers find it; ``pyproject.toml`` maps it
into the package, so an installed wheel serves the same files as a checkout.
"""
