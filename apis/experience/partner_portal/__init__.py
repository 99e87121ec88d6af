"""The partner portal experience API: a partner's customers, their subscriptions, and deal registration."""
