"""The domain: pure Python services over the document store and the WAL pipeline."""
