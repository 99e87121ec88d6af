"""``/experience/partner-portal/v1``: what a partner sees of its own customers, and its webhooks."""
