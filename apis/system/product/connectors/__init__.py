"""Connectors of the product system API (one: the product platform's own REST API)."""
