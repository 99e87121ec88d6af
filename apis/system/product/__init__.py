"""``/system/product/v1``: catalog, entitlements and usage over the product platform."""
