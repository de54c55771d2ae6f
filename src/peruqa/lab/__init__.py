"""The lab: training and research. Fitting the decision model (``peruqa train``), the
reader's data, fine-tuning and fit (``peruqa train --reader``), the eval files' roles
manifest and its leak check.

Serving never imports this package (an import-linter contract in ``pyproject.toml``): what
the server runs lives in ``peruqa.qa``, and what the lab writes reaches it only as files.
"""
