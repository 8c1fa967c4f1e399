"""Pages of organizations and contacts, one module per feature; ``parties/urls.py`` wires them."""
