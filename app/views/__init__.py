"""PySide6 views: the one place that imports Qt widgets."""
