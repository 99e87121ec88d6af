"""The customer portal experience API (``/experience/customer-portal/v1``)."""
