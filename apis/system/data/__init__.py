"""``/system/data/v1``: business events and records landed in the data lake."""
