"""The gateway's own management API (``/gateway/v1``) and the services behind it and the CLI."""
