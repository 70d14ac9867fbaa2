"""Renderers: text (the only place that imports rich) and JSON."""
