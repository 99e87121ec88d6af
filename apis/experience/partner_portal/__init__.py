"""``/experience/partner-portal/v1``: what a partner sees of its own customers and deals.

Customers, their subscriptions, deal registration (:mod:`.routes`, :mod:`.deals`) and webhook
subscriptions with their deliveries (:mod:`.webhooks`).
"""
